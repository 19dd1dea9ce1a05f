"""The registry of embedding losses: ``EMBEDDING_LOSSES.build("matryoshka:dims=32-64-384")``."""

from mantissa.registry import Registry

EMBEDDING_LOSSES: Registry = Registry("embedding loss")
