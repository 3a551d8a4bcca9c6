"""Window partition and reverse, cyclic shift, padding to a multiple of the window.

Feature maps are channels-last ``(B, H, W, C)``. A window is an ``M x M`` block of tokens
(``M = window_size``); windows are numbered in row-major order, left to right, then top to
bottom, exactly as the official code's ``view/permute/view`` produces them.

Taught in notebooks/03_window_attention and notebooks/05_shifted_windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

from swin_edu._checks import (ArgumentTypeError, check_divisible, check_int, check_memory,
                              check_positive,
                              check_rank, check_shift, refuse_jit)

__all__ = ["window_partition", "window_reverse", "cyclic_shift", "reverse_cyclic_shift", "shift_pair",
           "pad_to_window", "num_windows"]


def num_windows(H: int, W: int, window_size: int) -> int:
    """Number of ``window_size x window_size`` windows that tile an ``H x W`` map."""
    H, W, window_size = (check_positive(name, size) for name, size in
                         (("H", H), ("W", W), ("window_size", window_size)))
    check_divisible("H", H, window_size)
    check_divisible("W", W, window_size)
    return (H // window_size) * (W // window_size)


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Cut a feature map into non-overlapping windows.

    Args:
        x: ``(B, H, W, C)`` with ``H`` and ``W`` multiples of ``window_size``.
        window_size: ``M``, the side of a square window.
    Returns:
        ``(B * nW, M, M, C)`` with ``nW = (H / M) * (W / M)``, windows in row-major order
        (image 0's windows first).
    """
    refuse_jit("window_partition")
    check_rank("x", x, 4, "(B, H, W, C)")
    window_size = check_positive("window_size", window_size)
    _, H, W, _ = x.shape
    num_windows(H, W, window_size)
    windows = rearrange(x, "b (nh m1) (nw m2) c -> (b nh nw) m1 m2 c",
                        m1=window_size, m2=window_size)
    return windows.contiguous()  # as the official code, so that .view() works on the result


def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Stitch windows back into feature maps; the inverse of :func:`window_partition`.

    Args:
        windows: ``(B * nW, M, M, C)``.
        window_size: ``M``.
        H, W: size of the feature map the windows came from.
    Returns:
        ``(B, H, W, C)``.
    """
    refuse_jit("window_reverse")
    check_rank("windows", windows, 4, "(B * num_windows, M, M, C)")
    nW = num_windows(H, W, window_size)
    if windows.shape[1] != window_size or windows.shape[2] != window_size:
        raise ValueError(
            f"windows has shape {tuple(windows.shape)}; expected (B * {nW}, {window_size}, "
            f"{window_size}, C) for window_size={window_size}"
        )
    if windows.shape[0] % nW != 0:
        raise ValueError(
            f"windows.shape[0]={windows.shape[0]} is not a multiple of the {nW} windows of an "
            f"{H}x{W} map with window_size={window_size}; check H and W"
        )
    return rearrange(windows, "(b nh nw) m1 m2 c -> b (nh m1) (nw m2) c",
                     nh=H // window_size, nw=W // window_size)


def cyclic_shift(x: torch.Tensor, shift_size: int | tuple[int, int]) -> torch.Tensor:
    """Roll the map up and left by ``shift_size`` (``torch.roll`` with negative shifts).

    The top ``shift_size`` rows wrap round to the bottom and the left columns to the right,
    so the regular window grid of the rolled map covers the paper's shifted windows.

    Args:
        x: ``(B, H, W, C)``.
        shift_size: ``S`` for both axes, or ``(S_h, S_w)``.
    Returns:
        ``(B, H, W, C)``, ``out[:, i, j] == x[:, (i + S_h) % H, (j + S_w) % W]``.
    """
    check_rank("x", x, 4, "(B, H, W, C)")
    sh, sw = shift_pair(shift_size)
    return torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))


def reverse_cyclic_shift(x: torch.Tensor, shift_size: int | tuple[int, int]) -> torch.Tensor:
    """Undo :func:`cyclic_shift`: roll down and right by ``shift_size``. ``(B, H, W, C)``."""
    check_rank("x", x, 4, "(B, H, W, C)")
    sh, sw = shift_pair(shift_size)
    return torch.roll(x, shifts=(sh, sw), dims=(1, 2))


def pad_to_window(x: torch.Tensor, window_size: int) -> tuple[torch.Tensor, int, int]:
    """Zero-pad the bottom and right of a map up to multiples of ``window_size``.

    Args:
        x: ``(B, H, W, C)``.
    Returns:
        ``(padded, pad_h, pad_w)`` with ``padded`` of shape ``(B, H + pad_h, W + pad_w, C)``.
    """
    refuse_jit("pad_to_window")
    check_rank("x", x, 4, "(B, H, W, C)")
    window_size = check_positive("window_size", window_size)
    _, H, W, _ = x.shape
    pad_h = (-H) % window_size
    pad_w = (-W) % window_size
    if pad_h or pad_w:
        B, _, _, C = x.shape
        check_memory(f"padding x of shape {tuple(x.shape)} to window_size={window_size} "
                     f"({B}, {H + pad_h}, {W + pad_w}, {C})",
                     B * (H + pad_h) * (W + pad_w) * C * x.element_size(), device=x.device)
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    return x, pad_h, pad_w


def shift_pair(shift_size: int | tuple[int, int]) -> tuple[int, int]:
    """``S`` -> ``(S, S)``; a pair ``(S_h, S_w)`` is checked and returned as a tuple of ints."""
    if isinstance(shift_size, (tuple, list)):
        if len(shift_size) != 2:
            raise ValueError(f"shift_size={shift_size!r} has {len(shift_size)} entries; expected "
                             f"one integer S or a pair (S_h, S_w)")
        pair = shift_size
    else:
        pair = (shift_size, shift_size)
    try:
        return tuple(check_int("shift_size", s, low=0) for s in pair)  # type: ignore[return-value]
    except ArgumentTypeError:
        raise ArgumentTypeError(f"shift_size={shift_size!r} must be a non-negative integer S or "
                                f"a pair (S_h, S_w) of them") from None


def check_window_args(H: int, W: int, window_size: int, shift_size: int,
                      shift_name: str = "shift_size") -> None:
    """Validate a window configuration: positive sizes, divisibility, ``0 <= S < M``."""
    H, W, window_size = (check_positive(name, size) for name, size in
                         (("H", H), ("W", W), ("window_size", window_size)))
    check_divisible("H", H, window_size)
    check_divisible("W", W, window_size)
    check_shift(shift_size, window_size, shift_name)
