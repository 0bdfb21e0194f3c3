"""Data-parallel fits over torch.distributed ranks (DDP): every rank-aware step of the loop.

Under ``torchrun --nproc-per-node K`` (or any initialised process group of K > 1 ranks)
:func:`seqae.training.fit` trains with :class:`torch.nn.parallel.DistributedDataParallel`.
Every rank holds all the data, the same weights at the start (same seed) and draws the same
shuffling permutation (same generator seed); the batch size is the global batch, and rank r
takes the strided share ``batch[r::K]`` of each global batch. DDP averages the ranks'
gradients, so each rank's mean loss is weighted by ``K * share / global`` before backward:
the average is then the gradient of the global batch's mean loss, exactly, also for an
uneven last batch. K ranks therefore follow one process step by step, up to the order of
floating-point sums (the denoising and variational variants in distribution only: each rank
draws its own training noise). Epoch losses and the held-out loss are all-reduced sums, so
early stopping and the best weights are decided alike on every rank.

A single process gets :data:`SINGLE`, for which every method is the identity.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class Ranks:
    """This process's ``rank`` among ``world`` ranks (0 of 1: a single process)."""

    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """The rank that prints and writes files."""
        return self.rank == 0

    def share(self, idx: Tensor) -> tuple[Tensor, float]:
        """This rank's samples of a global batch ``idx`` (B,) and the weight of their mean loss.

        Shares differ in size by at most one. A global batch smaller than the world leaves
        some ranks nothing: they run one sample with weight 0, because every rank must take
        part in DDP's gradient all-reduce.
        """
        if not self.distributed:
            return idx, 1.0
        mine = idx[self.rank :: self.world]
        if len(mine) == 0:
            return idx[:1], 0.0
        return mine, self.world * len(mine) / len(idx)

    def sum(self, t: Tensor) -> Tensor:
        """``t`` summed over the ranks (all-reduce, in place); ``t`` itself in one process."""
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` in DDP (gradients averaged in backward); ``model`` itself in one process.

        Every trainable parameter of a seqae model gets a gradient at every step (tested per
        registered model), so DDP runs without the search for unused parameters.
        """
        if not self.distributed:
            return model
        ids = None
        if device.type == "cuda":
            ids = [device.index if device.index is not None else torch.cuda.current_device()]
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def seed_noise(self, seed: int) -> None:
        """Give each rank its own stream for training noise (denoising, variational sampling).

        With the one stream that the shared seed gives, every rank would draw the same noise
        for different samples. One process keeps its stream.
        """
        if self.distributed:
            torch.manual_seed(seed + 1_000_003 * (self.rank + 1))


SINGLE = Ranks()


def current() -> Ranks:
    """The ranks of the initialised default process group; :data:`SINGLE` without one."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return SINGLE


def world_size_from_env() -> int:
    """``WORLD_SIZE`` as torchrun sets it; 1 when unset."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextmanager
def process_group(device: torch.device) -> Iterator[Ranks]:
    """Initialise the default process group from torchrun's variables; destroy it at the end.

    Only when ``WORLD_SIZE`` > 1 and no group exists yet: NCCL for a CUDA ``device`` (each
    rank on GPU ``LOCAL_RANK``), gloo on the CPU. Otherwise a no-op that yields
    :func:`current`.
    """
    if world_size_from_env() <= 1 or (dist.is_available() and dist.is_initialized()):
        yield current()
        return
    if not dist.is_available():
        raise ValueError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "nccl"
    dist.init_process_group(backend)
    try:
        yield current()
    finally:
        dist.destroy_process_group()
