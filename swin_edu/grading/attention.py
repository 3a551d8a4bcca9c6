"""Assignment 5: a window-attention forward pass with relative bias and mask, and the
shifted-window round trip (roll, partition, attend, reverse, roll back).

Each ``mistake_*`` function is a plausible wrong answer; it uses only ``torch`` and the names
the assignment notebook imports (``window_partition``, ``window_reverse``,
``shifted_window_mask``), so its source can be planted in the notebook.
"""

from __future__ import annotations

from typing import Callable

import torch

from swin_edu.attention import explicit_attention
from swin_edu.grading._inputs import normal
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check
from swin_edu.masks import shifted_window_mask
from swin_edu.windows import cyclic_shift, reverse_cyclic_shift, window_partition, window_reverse

__all__ = ["WINDOW_ATTENTION", "SHIFTED_WINDOW_ATTENTION", "toy_attention",
           "check_window_attention", "check_shifted_window_attention"]


def _expected_window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                               bias: torch.Tensor,
                               mask: torch.Tensor | None = None) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + bias + mask) v`` inside every window, by the course's
    :func:`swin_edu.attention.explicit_attention`.

    Args:
        q, k, v: ``(B * nW, heads, N, d)``, windows of one image contiguous.
        bias: ``(heads, N, N)`` relative position bias.
        mask: ``(nW, N, N)`` shifted-window mask, or ``None`` (W-MSA).
    Returns:
        ``(B * nW, heads, N, d)``.
    """
    BnW, heads, N, d = q.shape
    added = bias.expand(BnW, heads, N, N)
    if mask is not None:
        nW = mask.shape[0]
        added = (added.reshape(BnW // nW, nW, heads, N, N) + mask[None, :, None]
                 ).reshape(BnW, heads, N, N)
    return explicit_attention(q, k, v, added)


def _attention_cases() -> list[Case]:
    # (B, H, W, window_size, shift_size, heads, d); shift 0 means no mask (W-MSA).
    settings = [(2, 4, 6, 2, 1, 2, 4), (1, 4, 4, 2, 0, 3, 2), (3, 6, 3, 3, 1, 1, 3)]
    cases = []
    for i, (B, H, W, M, S, heads, d) in enumerate(settings):
        nW, N = (H // M) * (W // M), M * M
        q, k, v = (2 * normal(B * nW, heads, N, d, seed=60 + 3 * i + j) for j in range(3))
        bias = normal(heads, N, N, seed=70 + i)
        mask = shifted_window_mask(H, W, M, S) if S else None
        shape = f"{H}x{W} map" + (" (non-square)" if H != W else "")
        kind = f"SW-MSA mask of a {shape}, shift {S}" if S else "no mask"
        cases.append(Case(f"B={B}, nW={nW}, heads={heads}, N={N}, d={d}, {kind}",
                          (q, k, v, bias, mask)))
    return cases


def mistake_no_scale(q, k, v, bias, mask=None):
    """Forgets to scale the logits by 1/sqrt(d)."""
    BnW, heads, N, d = q.shape
    attn = q @ k.transpose(-2, -1) + bias
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    return torch.softmax(attn, dim=-1) @ v


def mistake_scale_multiplied(q, k, v, bias, mask=None):
    """Multiplies by sqrt(d) instead of dividing."""
    BnW, heads, N, d = q.shape
    attn = (q * d ** 0.5) @ k.transpose(-2, -1) + bias
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    return torch.softmax(attn, dim=-1) @ v


def mistake_scale_one_over_d(q, k, v, bias, mask=None):
    """Scales the logits by 1/d instead of 1/sqrt(d)."""
    BnW, heads, N, d = q.shape
    attn = (q / d) @ k.transpose(-2, -1) + bias
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    return torch.softmax(attn, dim=-1) @ v


def mistake_bias_after_softmax(q, k, v, bias, mask=None):
    """Adds the relative position bias to the attention weights, after the softmax."""
    BnW, heads, N, d = q.shape
    attn = (q * d ** -0.5) @ k.transpose(-2, -1)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    return (torch.softmax(attn, dim=-1) + bias) @ v


def mistake_softmax_over_queries(q, k, v, bias, mask=None):
    """Normalises over dim=-2 (the queries) instead of the keys."""
    BnW, heads, N, d = q.shape
    attn = (q * d ** -0.5) @ k.transpose(-2, -1) + bias
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    return torch.softmax(attn, dim=-2) @ v


def mistake_mask_repeat_interleave(q, k, v, bias, mask=None):
    """Repeats each window's mask B times in a row: window i gets mask i // B."""
    BnW, heads, N, d = q.shape
    attn = (q * d ** -0.5) @ k.transpose(-2, -1) + bias
    if mask is not None:
        B = BnW // mask.shape[0]
        attn = attn + mask.repeat_interleave(B, dim=0).unsqueeze(1)
    return torch.softmax(attn, dim=-1) @ v


def mistake_mask_ignored(q, k, v, bias, mask=None):
    """Never adds the mask."""
    d = q.shape[-1]
    attn = (q * d ** -0.5) @ k.transpose(-2, -1) + bias
    return torch.softmax(attn, dim=-1) @ v


def mistake_bias_ignored(q, k, v, bias, mask=None):
    """Never adds the relative position bias."""
    BnW, heads, N, d = q.shape
    attn = (q * d ** -0.5) @ k.transpose(-2, -1)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    return torch.softmax(attn, dim=-1) @ v


WINDOW_ATTENTION = Question(
    function="window_attention",
    reference=_expected_window_attention,
    reference_name="swin_edu.attention.explicit_attention(q, k, v, bias + mask)",
    cases=_attention_cases,
    signature="window_attention(q, k, v, bias, mask=None)",
    rtol=1e-4,
    atol=1e-5,
    mistakes=(
        Mistake("no_scale", "scale the logits by 1/sqrt(d), d = q.shape[-1] the per-head "
                "dimension (q = q * d ** -0.5), before the softmax; without it the softmax "
                "saturates as d grows.", mistake_no_scale),
        Mistake("scale_multiplied", "divide by sqrt(d), do not multiply: q * d ** -0.5.",
                mistake_scale_multiplied),
        Mistake("scale_one_over_d", "the logits are divided by d, not by sqrt(d): the "
                "scale is 1/sqrt(d) = d ** -0.5, d = q.shape[-1] the per-head dimension.",
                mistake_scale_one_over_d),
        Mistake("bias_after_softmax", "add the relative position bias to the logits BEFORE the "
                "softmax: softmax(q k^T / sqrt(d) + B). Added afterwards it is no longer a "
                "probability and is not learned the way the paper does.",
                mistake_bias_after_softmax),
        Mistake("softmax_over_queries", "take the softmax over the keys, dim=-1: each query's "
                "weights over the keys must sum to 1.", mistake_softmax_over_queries),
        Mistake("mask_repeat_interleave", "batch row i holds window i % nW of image i // nW "
                "(windows of one image are contiguous), but it got the mask of window i // B "
                "(what mask.repeat_interleave(B, 0) gives). Row i needs mask[i % nW], e.g. "
                "logits.view(B, nW, heads, N, N) + mask[None, :, None] or mask.repeat(B, 1, 1).",
                mistake_mask_repeat_interleave),
        Mistake("mask_ignored", "a mask was given but not added: in SW-MSA, tokens from regions "
                "that were not neighbours in the image must not attend to each other. Add "
                "mask[None, :, None] to logits viewed as (B, nW, heads, N, N).",
                mistake_mask_ignored),
        Mistake("bias_ignored", "the relative position bias (heads, N, N) was not added: "
                "logits = q k^T / sqrt(d) + bias (it broadcasts over the batch).",
                mistake_bias_ignored),
    ),
)


def toy_attention(windows: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Weight-free self-attention inside windows, for testing shifted-window plumbing.

    ``softmax(x x^T / sqrt(C) + mask) x`` with ``q = k = v = x``.

    Args:
        windows: ``(B * nW, N, C)``.
        mask: ``(nW, N, N)`` or ``None``.
    Returns:
        ``(B * nW, N, C)``.
    """
    BnW, N, C = windows.shape
    logits = windows @ windows.transpose(-2, -1) * C ** -0.5  # (B*nW, N, N)
    if mask is not None:
        nW = mask.shape[0]
        logits = (logits.view(BnW // nW, nW, N, N) + mask[None]).view(BnW, N, N)
    return logits.softmax(dim=-1) @ windows


def _expected_shifted(x: torch.Tensor, window_size: int, shift_size: int,
                      attend: Callable[[torch.Tensor, torch.Tensor | None],
                                              torch.Tensor]) -> torch.Tensor:
    """Roll, partition, attend with the mask, reverse, roll back.

    Args:
        x: ``(B, H, W, C)``.
        window_size: ``M``; ``H`` and ``W`` are multiples of it.
        shift_size: ``S``; ``0`` is plain W-MSA (no roll, no mask).
        attend: ``attend(windows (B*nW, N, C), mask (nW, N, N) or None) -> (B*nW, N, C)``.
    Returns:
        ``(B, H, W, C)``.
    """
    B, H, W, C = x.shape
    M = window_size
    mask = None
    if shift_size:
        x = cyclic_shift(x, shift_size)
        mask = shifted_window_mask(H, W, M, shift_size)  # (nW, N, N)
    windows = window_partition(x, M).reshape(-1, M * M, C)  # (B*nW, N, C)
    windows = attend(windows, mask)
    x = window_reverse(windows.reshape(-1, M, M, C), M, H, W)  # (B, H, W, C)
    return reverse_cyclic_shift(x, shift_size) if shift_size else x


def _shifted_cases() -> list[Case]:
    settings = [(2, 4, 6, 3, 2, 1), (1, 6, 6, 2, 3, 1), (1, 8, 4, 2, 4, 2), (1, 4, 4, 2, 2, 0)]
    return [Case(f"x of shape {(B, H, W, C)}, window_size={M}, shift_size={S}"
                 + (" (non-square)" if H != W else ""),
                 (2 * normal(B, H, W, C, seed=80 + i), M, S, toy_attention))
            for i, (B, H, W, C, M, S) in enumerate(settings)]


def mistake_not_rolled_back(x, window_size, shift_size, attend):
    """Rolls, attends, reverses, and forgets to roll back."""
    B, H, W, C = x.shape
    M, S = window_size, shift_size
    mask = None
    if S > 0:
        x = torch.roll(x, shifts=(-S, -S), dims=(1, 2))
        mask = shifted_window_mask(H, W, M, S)
    windows = attend(window_partition(x, M).reshape(-1, M * M, C), mask)
    return window_reverse(windows.reshape(-1, M, M, C), M, H, W)


def mistake_rolled_back_same_way(x, window_size, shift_size, attend):
    """Rolls back with -S again instead of +S."""
    B, H, W, C = x.shape
    M, S = window_size, shift_size
    mask = None
    if S > 0:
        x = torch.roll(x, shifts=(-S, -S), dims=(1, 2))
        mask = shifted_window_mask(H, W, M, S)
    windows = attend(window_partition(x, M).reshape(-1, M * M, C), mask)
    x = window_reverse(windows.reshape(-1, M, M, C), M, H, W)
    return torch.roll(x, shifts=(-S, -S), dims=(1, 2))


def mistake_rolled_down_first(x, window_size, shift_size, attend):
    """Rolls down/right (+S) first and back with -S: the mask no longer fits."""
    B, H, W, C = x.shape
    M, S = window_size, shift_size
    mask = None
    if S > 0:
        x = torch.roll(x, shifts=(S, S), dims=(1, 2))
        mask = shifted_window_mask(H, W, M, S)
    windows = attend(window_partition(x, M).reshape(-1, M * M, C), mask)
    x = window_reverse(windows.reshape(-1, M, M, C), M, H, W)
    return torch.roll(x, shifts=(-S, -S), dims=(1, 2))


def mistake_no_mask(x, window_size, shift_size, attend):
    """Rolls and rolls back but attends without the mask."""
    B, H, W, C = x.shape
    M, S = window_size, shift_size
    x = torch.roll(x, shifts=(-S, -S), dims=(1, 2))
    windows = attend(window_partition(x, M).reshape(-1, M * M, C), None)
    x = window_reverse(windows.reshape(-1, M, M, C), M, H, W)
    return torch.roll(x, shifts=(S, S), dims=(1, 2))


SHIFTED_WINDOW_ATTENTION = Question(
    function="shifted_window_attention",
    reference=_expected_shifted,
    reference_name=("cyclic_shift, window_partition, attend, window_reverse and "
                    "reverse_cyclic_shift from swin_edu.windows, in that order"),
    cases=_shifted_cases,
    signature="shifted_window_attention(x, window_size, shift_size, attend)",
    rtol=1e-4,
    atol=1e-5,
    mistakes=(
        Mistake("not_rolled_back", "after window_reverse, roll back: torch.roll(x, shifts=(S, "
                "S), dims=(1, 2)) (reverse_cyclic_shift). Otherwise every token ends up S rows "
                "and S columns away from where it started.", mistake_not_rolled_back),
        Mistake("rolled_back_same_way", "undo the shift by rolling the OTHER way: +S (down and "
                "right). You rolled by -S a second time, so the map is now shifted by 2S.",
                mistake_rolled_back_same_way),
        Mistake("rolled_down_first", "roll up and left (-S) first: shifted_window_mask "
                "describes the map rolled by -S, so after a +S roll it masks the wrong pairs. "
                "Roll back with +S at the end.", mistake_rolled_down_first),
        Mistake("no_mask", "after the roll, the windows along the bottom and right edges mix "
                "tokens that were far apart in the image; pass "
                "shifted_window_mask(H, W, M, S) to attend whenever shift_size > 0.",
                mistake_no_mask),
    ),
)


def check_window_attention(student) -> Feedback:
    """Compare ``student(q, k, v, bias, mask)`` with the attention formula."""
    return check(WINDOW_ATTENTION, student)


def check_shifted_window_attention(student) -> Feedback:
    """Compare ``student(x, window_size, shift_size, attend)`` with roll, partition, attend,
    reverse, roll back."""
    return check(SHIFTED_WINDOW_ATTENTION, student)
