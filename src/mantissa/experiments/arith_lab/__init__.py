"""Experiments of the pillar 'arithmetic lab': one module per seed paper."""

__all__: list[str] = []
