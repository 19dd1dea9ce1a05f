"""Embedding compressors, one per file, registered in :data:`COMPRESSORS` by spec."""

from mantissa.embed.compressors.base import COMPRESSORS, Compressor, check_vectors
from mantissa.embed.compressors.bebr import BEBR
from mantissa.embed.compressors.binary import Binary
from mantissa.embed.compressors.floats import Float16, Float32
from mantissa.embed.compressors.itq import ITQ
from mantissa.embed.compressors.matryoshka import Matryoshka
from mantissa.embed.compressors.pq import ProductQuantizer
from mantissa.embed.compressors.scalar import Int4, Int8, ScalarQuantizer

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
