"""mantissa.train: the generic :class:`Trainer`, LM plumbing, checkpoints, schedules, DDP."""

from mantissa.train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from mantissa.train.embed_trainer import PairBatches as PairBatches  # embedding training
from mantissa.train.embed_trainer import fit_embedding as fit_embedding  # embedding training
from mantissa.train.lm import TensorBatches, exact_match, lm_loss, predict
from mantissa.train.losses import EMBEDDING_LOSSES as EMBEDDING_LOSSES  # embedding training
from mantissa.train.schedule import SCHEDULES
from mantissa.train.trainer import StopTraining, TrainConfig, Trainer

__all__ = ["SCHEDULES", "StopTraining", "TensorBatches", "TrainConfig", "Trainer", "exact_match",
           "lm_loss", "load_checkpoint", "predict", "read_checkpoint", "save_checkpoint"]
