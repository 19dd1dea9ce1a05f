"""mantissa.embed — embedding models: the encoder wrapper, pooling, training pairs and the
WordNet retrieval bench (docs/architecture.md). The compressed vector store is
:mod:`mantissa.index`, trainable tables :mod:`mantissa.tables`, model merging
:mod:`mantissa.merge`."""

from mantissa.embed.encoder import Encoder, Features
from mantissa.embed.pooling import POOLING

__all__ = ["POOLING", "Encoder", "Features"]
