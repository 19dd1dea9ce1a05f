"""Embedding losses, registered by name in :data:`EMBEDDING_LOSSES`.

``infonce`` (alias ``mnrl``), ``matryoshka``, ``2dmse``, ``starbucks``, ``gist``,
``simcse``, ``esimcse``, ``geodesic-mixup``. Each is a ``torch.nn.Module`` with a
thin ``forward(model, anchors, positives=None, negatives=None)``, a
``compute_loss_from_embeddings(...)`` that works on tensors alone, and a
``citation``. See ``docs/embedding-training.md``.
"""

from mantissa.train.losses.base import EmbeddingLoss, cos_sim, parse_ints, parse_pairs
from mantissa.train.losses.esimcse import ESimCSE, SimCSE, word_repetition
from mantissa.train.losses.geodesic_mixup import GeodesicMixup, slerp
from mantissa.train.losses.gist import GIST, false_negative_mask
from mantissa.train.losses.infonce import InfoNCE, info_nce
from mantissa.train.losses.matryoshka import Matryoshka
from mantissa.train.losses.registry import EMBEDDING_LOSSES
from mantissa.train.losses.starbucks import MINILM_PAIRS, Starbucks
from mantissa.train.losses.two_d_mse import TwoDMSE

__all__ = [
    "EMBEDDING_LOSSES",
    "GIST",
    "MINILM_PAIRS",
    "ESimCSE",
    "EmbeddingLoss",
    "GeodesicMixup",
    "InfoNCE",
    "Matryoshka",
    "SimCSE",
    "Starbucks",
    "TwoDMSE",
    "cos_sim",
    "false_negative_mask",
    "info_nce",
    "parse_ints",
    "parse_pairs",
    "slerp",
    "word_repetition",
]
