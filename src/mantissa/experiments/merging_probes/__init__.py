"""Experiments of the pillar 'merging & probes': one module per seed paper."""

__all__: list[str] = []
