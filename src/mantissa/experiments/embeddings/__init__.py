"""Experiments of the pillar 'embeddings': one module per seed paper."""

__all__: list[str] = []
