"""mantissa.embed — embedding models and the compressed vector store (docs/architecture.md);
model merging is :mod:`mantissa.merge`, trainable tables :mod:`mantissa.tables`."""

# embedding models (encoder wrapper, pooling, training pairs)
# compressed embedding store (compressors, search kernels, on-disk index)
from mantissa.embed.compressors import COMPRESSORS
from mantissa.embed.encoder import Encoder, Features
from mantissa.embed.index import Index, IndexSpec
from mantissa.embed.index_file import build_index, open_index
from mantissa.embed.pooling import POOLING
from mantissa.embed.recall import recall_at_k

__all__ = [
    "COMPRESSORS",
    "Encoder",
    "Features",
    "Index",
    "IndexSpec",
    "build_index",
    "open_index",
    "POOLING",
    "recall_at_k",
]
