"""Multi-process data-parallel training (PyTorch DDP; gloo on CPU, NCCL on GPUs).

Launch any training script with ``torchrun --nproc_per_node N ...``; call
:func:`init_from_env` first. The :class:`~mantissa.train.trainer.Trainer` then
wraps the model in ``DistributedDataParallel``, gives each process the slice
``batch[rank::world]`` of the same global batch (so N processes see exactly
the batches one process would), and only rank 0 evaluates, writes
checkpoints and draws the progress bar.

``mantissa train`` calls :func:`init_from_env` itself:
``torchrun --nproc_per_node 2 -m mantissa.cli train add --steps 200``.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env(backend: str | None = None) -> tuple[int, int]:
    """Initialise the process group from torchrun's environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``...); return ``(rank, world_size)``.
    Without those variables nothing happens and ``(0, 1)`` is returned."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def is_main() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def shutdown() -> None:
    """Wait for every rank (rank 0 may still be evaluating), then tear the group down.

    Without the barrier a rank that finishes first destroys its gloo group while
    rank 0 still works, and the process can abort at exit.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
