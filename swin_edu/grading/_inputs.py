"""Deterministic test inputs for the checkers."""

from __future__ import annotations

import torch


def distinct(*shape: int, seed: int = 0) -> torch.Tensor:
    """A float32 tensor of the given shape holding ``0, 1, ..., n-1`` in a shuffled order.

    Every value occurs once, so two rearrangements agree only when they move every element
    to the same place, and a student can still read the numbers.
    """
    generator = torch.Generator().manual_seed(seed)
    count = 1
    for size in shape:
        count *= size
    return torch.randperm(count, generator=generator).float().reshape(shape)


def normal(*shape: int, seed: int = 0) -> torch.Tensor:
    """Standard normal float32 values from a private generator (global RNG untouched)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator)
