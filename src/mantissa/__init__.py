"""mantissa: the numerics of neural networks under one roof.

Layers (imports only point downwards)::

    cli -> experiments -> quant/train/embed/probe -> nn/tasks -> arith -> formats

Each seed paper's method lives in one module of these packages; each paper's
claim is checked by one experiment in :mod:`mantissa.experiments`.
"""

__version__ = "0.1.0"
