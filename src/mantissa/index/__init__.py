"""mantissa.index — the compressed vector store: compressors (one per code, chosen by spec
through :data:`COMPRESSORS`), exact and FAISS-backed search kernels, IVF and HNSW, FAISS
interop, recall, and the checksummed on-disk index (docs/index.md)."""

from mantissa.index.compressors import COMPRESSORS
from mantissa.index.index import Index, IndexSpec
from mantissa.index.index_file import build_index, open_index
from mantissa.index.recall import recall_at_k

__all__ = ["COMPRESSORS", "Index", "IndexSpec", "build_index", "open_index", "recall_at_k"]
