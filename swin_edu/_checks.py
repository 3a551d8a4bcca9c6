"""Argument checks shared by every module: each failure is a ``ValueError`` that names the
argument, the value it got and what to do instead."""

from __future__ import annotations

import torch


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n``, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def check_rank(name: str, x: torch.Tensor, rank: int, layout: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if x.dim() != rank:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)} (rank {x.dim()}); expected rank {rank}, {layout}"
        )


def check_divisible(name: str, size: int, window_size: int) -> None:
    if size % window_size != 0:
        padded = -(-size // window_size) * window_size
        raise ValueError(
            f"{name}={size} is not divisible by window_size={window_size}; pad to {padded} "
            f"(swin_edu.windows.pad_to_window) or pick window_size in {divisors(size)}"
        )


def check_shift(shift_size: int, window_size: int) -> None:
    if not isinstance(shift_size, int) or isinstance(shift_size, bool) or not (
        0 <= shift_size < window_size
    ):
        raise ValueError(
            f"shift_size={shift_size!r} must be an integer in [0, window_size={window_size}); "
            f"the paper uses window_size // 2 = {window_size // 2}"
        )
