"""Experiments of the pillar 'efficient architectures & beyond text': one module per seed paper."""

__all__: list[str] = []
