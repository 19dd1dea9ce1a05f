"""mantissa.embed — see docs/architecture.md."""

# embedding models (encoder wrapper, pooling, training pairs)
# compressed embedding store (compressors, search kernels, on-disk index)
from mantissa.embed.compressors import COMPRESSORS as COMPRESSORS  # noqa: E402
from mantissa.embed.encoder import Encoder as Encoder  # noqa: E402
from mantissa.embed.encoder import Features as Features  # noqa: E402
from mantissa.embed.index import Index as Index  # noqa: E402
from mantissa.embed.index import IndexSpec as IndexSpec  # noqa: E402
from mantissa.embed.index_file import build_index as build_index  # noqa: E402
from mantissa.embed.index_file import open_index as open_index  # noqa: E402

# model merging on state dicts (task arithmetic, TIES, aTLAS, Self Positioning, Concrete)
from mantissa.embed.merge import MERGE_METHODS as MERGE_METHODS  # noqa: E402
from mantissa.embed.merge import merge as merge  # noqa: E402
from mantissa.embed.pooling import POOLING as POOLING  # noqa: E402
from mantissa.embed.recall import recall_at_k as recall_at_k  # noqa: E402
