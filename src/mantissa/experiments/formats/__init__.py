"""Experiments of the pillar 'formats & arithmetic': one module per seed paper."""

__all__: list[str] = []
