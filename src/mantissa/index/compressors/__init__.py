"""Embedding compressors, one per file, registered in :data:`COMPRESSORS` by spec."""

from mantissa.index.compressors.base import COMPRESSORS, Compressor, check_vectors
from mantissa.index.compressors.bebr import BEBR
from mantissa.index.compressors.binary import Binary
from mantissa.index.compressors.floats import Float16, Float32
from mantissa.index.compressors.itq import ITQ
from mantissa.index.compressors.matryoshka import Matryoshka
from mantissa.index.compressors.pq import ProductQuantizer
from mantissa.index.compressors.scalar import Int4, Int8, ScalarQuantizer

__all__ = [
    "BEBR",
    "COMPRESSORS",
    "Binary",
    "Compressor",
    "Float16",
    "Float32",
    "ITQ",
    "Int4",
    "Int8",
    "Matryoshka",
    "ProductQuantizer",
    "ScalarQuantizer",
    "check_vectors",
]
