"""mantissa.embed — see ARCHITECTURE.md (docs/architecture.md)."""

# issue 8: embedding models (encoder wrapper, pooling, training pairs)
from mantissa.embed.encoder import Encoder as Encoder  # noqa: E402
from mantissa.embed.encoder import Features as Features  # noqa: E402
from mantissa.embed.pooling import POOLING as POOLING  # noqa: E402
