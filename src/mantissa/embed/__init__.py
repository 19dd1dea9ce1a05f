"""mantissa.embed — embedding models, the compressed vector store and model merging (docs/architecture.md)."""

# embedding models (encoder wrapper, pooling, training pairs)
# compressed embedding store (compressors, search kernels, on-disk index)
from mantissa.embed.compressors import COMPRESSORS
from mantissa.embed.encoder import Encoder, Features
from mantissa.embed.index import Index, IndexSpec
from mantissa.embed.index_file import build_index, open_index

# model merging on state dicts (task arithmetic, TIES, aTLAS, Self Positioning, Concrete)
from mantissa.embed.merge import MERGE_METHODS, merge
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
    "MERGE_METHODS",
    "merge",
    "POOLING",
    "recall_at_k",
]
