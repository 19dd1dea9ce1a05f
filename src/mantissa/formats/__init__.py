"""mantissa.formats — number formats as values: round, encode, decode (see docs/formats.md).

>>> from mantissa import formats
>>> f = formats.get("float8_e4m3fn")          # or a spec: formats.get("fp:e3m2")
>>> f.info.max
448.0
"""

from mantissa.formats.base import FORMATS, ROUNDINGS, Format, FormatInfo, get
from mantissa.formats.block import DynamicFixedPoint, MXFormat
from mantissa.formats.float import ML_DTYPES_FORMATS, FloatFormat
from mantissa.formats.integer import IntFormat
from mantissa.formats.power import PowerFormat

__all__ = [
    "FORMATS", "ROUNDINGS", "Format", "FormatInfo", "get",
    "FloatFormat", "IntFormat", "ML_DTYPES_FORMATS", "PowerFormat", "MXFormat", "DynamicFixedPoint",
]
