"""Small randomly initialised models for tests that need a Hugging Face architecture offline."""

from __future__ import annotations

import torch


def tiny_bert():
    """A 2-layer, 32-wide BertModel with a fixed seed (needs transformers)."""
    import transformers

    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=16)
    return transformers.BertModel(cfg).eval()
