"""mantissa.models: whole models built from :mod:`mantissa.nn`'s layers and slots.

The decoder-only :class:`Transformer` (its attention, positional encoding, FFN and norm
chosen by name from the ``nn`` registries), the :class:`TinyViT` for small images, the
modular-arithmetic :class:`ModMLP`; and, one module each, ImageBind-LLM's bind network,
NeRV/HNeRV video representations, the DDPM denoiser, MemoryFormer's language model and
the integer-only I-ViT.
"""

from mantissa.models.mlp import ModMLP, ModMLPConfig
from mantissa.models.tiny_vit import TinyViT, TinyViTConfig
from mantissa.models.transformer import Transformer, TransformerConfig

__all__ = ["ModMLP", "ModMLPConfig", "TinyViT", "TinyViTConfig", "Transformer", "TransformerConfig"]
