"""The self-attention computations the paper times in its Table 5, side by side.

Every variant takes a feature map ``(B, H, W, C)`` and one
:class:`swin_edu.attention.WindowAttention` whose weights (``qkv``, ``proj``) and relative
position bias table all variants share, so their outputs can be compared token by token:

- **global MSA** (ViT): every token attends to all ``H*W`` tokens. The bias table only covers
  offsets inside one window, so this variant runs without it, as ViT does.
- **window (w/o shifting)**, W-MSA: attention inside each ``M x M`` window.
- **shifted window (padding)**: the windows shifted by ``S`` cut the map into up to
  ``(H/M + 1) x (W/M + 1)`` windows of uneven sizes; pad each to ``M x M`` (by padding the map
  with ``M - S`` rows/columns before and ``S`` after) and mask the padded keys. More windows,
  so more work: the "9-window" way.
- **shifted window (cyclic)**: the course's way, roll + partition + mask
  (:func:`swin_edu.attention.shifted_window_attention`). Same number of windows as W-MSA.
- **sliding window (naive)**: every token attends to its own ``M x M`` neighbourhood (keys
  outside the map are masked), gathered with ``unfold``: ``M*M`` copies of every key and value.

:func:`table5` times them at the stage resolutions of Swin-T and :func:`format_table5` prints
the result beside the paper's ratios (V100).

Taught in notebooks/06_complexity.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F

from swin_edu._checks import (ArgumentTypeError, check_bool, check_int, check_memory,
                              check_positive, check_rank, check_shift, refuse_jit)
from swin_edu.attention import WindowAttention, explicit_attention, shifted_window_attention
from swin_edu.masks import MASKED_VALUE
from swin_edu.windows import check_window_args, window_partition, window_reverse

__all__ = ["global_msa", "window_msa", "shifted_window_padding", "shifted_window_cyclic",
           "sliding_window_msa", "padding_mask", "VARIANTS", "PAPER_TABLE5_MS",
           "run_alternating", "time_alternating", "table5", "format_table5"]


def _split_heads(t: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(B, L, C)`` -> ``(B, heads, L, C / heads)``."""
    B, L, C = t.shape
    return t.view(B, L, num_heads, C // num_heads).transpose(1, 2)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None,
            fused: bool) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + bias) v`` by SDPA (``fused``) or written out."""
    if fused:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    return explicit_attention(q, k, v, bias)


def _check_inputs(x: torch.Tensor, attention: WindowAttention, fused: bool) -> None:
    """``x`` ``(B, H, W, C)`` with ``C == attention.dim``, a WindowAttention, a bool."""
    refuse_jit("attention_variants")
    check_rank("x", x, 4, "(B, H, W, C)")
    if not isinstance(attention, WindowAttention):
        raise ArgumentTypeError(f"attention must be a swin_edu WindowAttention, got "
                                f"{type(attention).__name__}")
    if x.shape[-1] != attention.dim:
        raise ValueError(f"x has {x.shape[-1]} channels; attention expects dim="
                         f"{attention.dim}")
    if not x.is_floating_point():
        raise ArgumentTypeError(f"x has dtype {x.dtype}; expected a floating-point tensor")
    check_bool("fused", fused)


def global_msa(x: torch.Tensor, attention: WindowAttention, fused: bool = True) -> torch.Tensor:
    """Every token attends to every token (no window, no relative bias).

    Args:
        x: ``(B, H, W, C)``.
    Returns:
        ``(B, H, W, C)``.
    """
    _check_inputs(x, attention, fused)
    B, H, W, C = x.shape
    check_memory(f"global attention over x of shape {tuple(x.shape)} (H*W={H * W} tokens)",
                 B * attention.num_heads * (H * W) ** 2 * x.element_size())
    q, k, v = attention.qkv(x.reshape(B, H * W, C)).chunk(3, dim=-1)
    q, k, v = (_split_heads(t, attention.num_heads) for t in (q, k, v))  # (B, heads, L, d)
    out = _attend(q, k, v, None, fused).transpose(1, 2).reshape(B, H, W, C)
    return attention.proj(out)


def window_msa(x: torch.Tensor, attention: WindowAttention, fused: bool = True) -> torch.Tensor:
    """W-MSA: attention inside each non-overlapping ``M x M`` window. ``(B, H, W, C)``."""
    _check_inputs(x, attention, fused)
    return shifted_window_attention(x, attention, 0, fused=fused)


def shifted_window_cyclic(x: torch.Tensor, attention: WindowAttention,
                          shift_size: int | None = None, fused: bool = True) -> torch.Tensor:
    """SW-MSA by cyclic shift + mask, the course's way. ``(B, H, W, C)``.

    ``shift_size`` defaults to ``M // 2``.
    """
    _check_inputs(x, attention, fused)
    shift = attention.window_size // 2 if shift_size is None else shift_size
    return shifted_window_attention(x, attention, shift, fused=fused)


def padding_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """Mask of the padded keys for :func:`shifted_window_padding`, built once per size (as
    the cyclic variant's mask is); every call returns a fresh copy.

    Returns:
        ``(nW, M*M, M*M)`` float, ``MASKED_VALUE`` where the key is padding, else ``0``, with
        ``nW = (H/M + 1) * (W/M + 1)`` windows of the padded map (``H/M`` per axis when
        ``shift_size == 0``).
    """
    check_window_args(H, W, window_size, shift_size)
    H, W, window_size, shift_size = int(H), int(W), int(window_size), int(shift_size)
    M = window_size
    check_memory(f"the padding mask of H={H}, W={W}, window_size={M}",
                 (H + M) * (W + M) * M * M * 4)
    return _padding_mask(H, W, window_size, shift_size).clone()


@lru_cache(maxsize=64)
def _padding_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    before = (window_size - shift_size) % window_size
    M = window_size
    with torch.inference_mode(False):  # a normal tensor: it is cached across modes
        real = torch.zeros(1, before + H + shift_size, before + W + shift_size, 1)
        real[:, before:before + H, before:before + W] = 1.0
        keys = window_partition(real, M).reshape(-1, 1, M * M)  # (nW, 1, N): 1 = real token
        mask = torch.where(keys > 0, 0.0, MASKED_VALUE)
        return mask.expand(-1, M * M, -1).contiguous()  # (nW, N, N), same for every query


def shifted_window_padding(x: torch.Tensor, attention: WindowAttention,
                           shift_size: int | None = None, fused: bool = True) -> torch.Tensor:
    """SW-MSA by padding: cut the real shifted windows, pad each to ``M x M``, mask the padding.

    The shifted windows start at ``S + kM`` on each axis, so the first is ``S`` wide and the
    last ``M - S``. Padding the map with ``M - S`` zero rows and columns before and ``S`` after
    puts every one of them on the regular grid of the padded map, filled up to ``M x M``.

    Args:
        x: ``(B, H, W, C)``, ``H`` and ``W`` multiples of ``M``.
        shift_size: ``S``, defaults to ``M // 2``.
    Returns:
        ``(B, H, W, C)``, equal to :func:`shifted_window_cyclic` (both mask with ``-100``).
    """
    _check_inputs(x, attention, fused)
    B, H, W, C = x.shape
    M = attention.window_size
    S = M // 2 if shift_size is None else shift_size
    check_shift(S, M)
    mask = padding_mask(H, W, M, S).to(x.device)  # (nW', N, N)
    before = (M - S) % M
    padded = F.pad(x, (0, 0, before, S, before, S))  # (B, H + before + S, W + before + S, C)
    Hp, Wp = padded.shape[1:3]
    windows = window_partition(padded, M).reshape(-1, M * M, C)  # (B*nW', N, C)
    windows = attention(windows, mask, fused=fused)
    out = window_reverse(windows.reshape(-1, M, M, C), M, Hp, Wp)  # (B, Hp, Wp, C)
    return out[:, before:before + H, before:before + W]


def _neighbourhood_bias(attention: WindowAttention, H: int, W: int) -> torch.Tensor:
    """Relative bias of the centre query to its ``M*M`` neighbours, plus ``MASKED_VALUE`` for
    neighbours outside the map. ``(heads, H*W, 1, M*M)``."""
    M = attention.window_size
    before = (M - 1) // 2
    centre = before * M + before
    bias = attention.relative_position_bias()[:, centre]  # (heads, N): centre query, each key
    inside = F.pad(torch.ones(1, 1, H, W, device=bias.device), (before, M - 1 - before) * 2)
    inside = F.unfold(inside, M).view(M * M, H * W).t()  # (H*W, N): 1 where the key is real
    outside = torch.where(inside > 0, 0.0, MASKED_VALUE).to(bias.dtype)
    return (bias[:, None, :] + outside[None]).unsqueeze(2)  # (heads, H*W, 1, N)


def sliding_window_msa(x: torch.Tensor, attention: WindowAttention,
                       fused: bool = True) -> torch.Tensor:
    """Naive sliding window: each token attends to the ``M x M`` neighbourhood around it.

    The neighbourhood spans offsets ``[-(M-1)//2, M//2]`` on each axis (centred for odd
    ``M``); the bias of each key is the table's entry for its offset from the query.

    Args:
        x: ``(B, H, W, C)``, any ``H`` and ``W``.
    Returns:
        ``(B, H, W, C)``.
    """
    _check_inputs(x, attention, fused)
    B, H, W, C = x.shape
    M, heads = attention.window_size, attention.num_heads
    check_memory(f"the neighbourhoods of x of shape {tuple(x.shape)} (M*M={M * M} copies)",
                 2 * B * H * W * C * M * M * x.element_size())
    d = C // heads
    before, after = (M - 1) // 2, M // 2
    q, kv = attention.qkv(x).split((C, 2 * C), dim=-1)  # (B, H, W, C), (B, H, W, 2C)
    q = q.reshape(B, H * W, heads, 1, d).transpose(1, 2)  # (B, heads, L, 1, d)
    kv = F.pad(kv.permute(0, 3, 1, 2), (before, after, before, after))  # (B, 2C, H+M-1, W+M-1)
    kv = F.unfold(kv, M)  # (B, 2C * M*M, L): every neighbourhood copied out
    kv = kv.view(B, 2, heads, d, M * M, H * W).permute(1, 0, 2, 5, 4, 3)  # (2, B, heads, L, N, d)
    out = _attend(q, kv[0], kv[1], _neighbourhood_bias(attention, H, W), fused)
    out = out.reshape(B, heads, H * W, d).transpose(1, 2).reshape(B, H, W, C)
    return attention.proj(out)


# Display name -> function(x, attention, fused), in the paper's row order.
VARIANTS: dict[str, Callable[..., torch.Tensor]] = {
    "global MSA": global_msa,
    "sliding window (naive)": sliding_window_msa,
    "window (w/o shifting)": window_msa,
    "shifted window (padding)": shifted_window_padding,
    "shifted window (cyclic)": shifted_window_cyclic,
}

# Table 5 of the paper: MSA time in each stage of Swin-T, ms, on a V100 GPU.
PAPER_TABLE5_MS: dict[str, tuple[float, float, float, float]] = {
    "sliding window (naive)": (122.5, 38.3, 12.1, 7.6),
    "window (w/o shifting)": (2.8, 1.7, 1.2, 0.9),
    "shifted window (padding)": (3.3, 2.3, 1.9, 2.2),
    "shifted window (cyclic)": (3.0, 1.9, 1.3, 1.0),
}
REFERENCE = "shifted window (cyclic)"


def run_alternating(fns: Mapping[str, Callable[[], object]], repeats: int = 10,
                    warmup: int = 1) -> dict[str, list[float]]:
    """Wall time of every call of each function, running them in turn so drift hits all alike.

    Each round runs every function once; the order rotates between rounds so that none is
    always first (caches, CPU frequency).

    Returns:
        ``{name: [seconds of round 0, round 1, ...]}``.
    """
    repeats = check_positive("repeats", repeats)
    warmup = check_int("warmup", warmup, low=0)
    if not isinstance(fns, Mapping) or not fns or not all(callable(f) for f in fns.values()):
        raise ArgumentTypeError(f"fns must be a non-empty mapping name -> function of no "
                                f"arguments, got {fns!r}")
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def time_alternating(fns: Mapping[str, Callable[[], object]], repeats: int = 10,
                     warmup: int = 1) -> dict[str, float]:
    """Median of :func:`run_alternating`'s times: ``{name: median seconds}``."""
    return {name: statistics.median(t)
            for name, t in run_alternating(fns, repeats, warmup).items()}


def table5(stages: Sequence[int] = (1, 2, 3, 4), repeats: int = 10, batch_size: int = 1,
           image_size: int = 224, window_size: int = 7, embed_dim: int = 96,
           num_heads: Sequence[int] = (3, 6, 12, 24), variants: Sequence[str] | None = None,
           fused: bool = True, device: str | torch.device = "cpu", seed: int = 0
           ) -> list[dict]:
    """Time each variant's attention at the stage resolutions of Swin-T (the paper's Table 5).

    Stage ``s`` has a ``(image_size / 2^(s+1))^2`` map, ``C = embed_dim * 2^(s-1)`` and
    ``num_heads[s-1]`` heads; every stage is shifted by ``M // 2``, as the paper timed it
    (in the model, a stage whose map is one window is not shifted). Runs in inference mode.

    Returns:
        One dict per (variant, stage): ``variant``, ``stage``, ``resolution``, ``dim``,
        ``heads``, ``ms`` (median), ``ratio`` (to the cyclic-shift variant of that stage, when
        timed: the median of the two times' ratio in each round), ``paper_ms`` and ``paper_ratio`` (``None`` where the paper has no entry).
    """
    stages = _int_sequence("stages", stages, low=1)
    num_heads = _int_sequence("num_heads", num_heads, low=1)
    repeats, batch_size = check_positive("repeats", repeats), check_positive("batch_size",
                                                                             batch_size)
    image_size, window_size, embed_dim = (check_positive(name, value) for name, value in (
        ("image_size", image_size), ("window_size", window_size), ("embed_dim", embed_dim)))
    check_bool("fused", fused)
    check_int("seed", seed, low=0)
    if isinstance(variants, str) or (variants is not None and
                                     not isinstance(variants, Sequence)):
        raise ArgumentTypeError(f"variants={variants!r} must be a list of names from "
                                f"{list(VARIANTS)} or None")
    names = list(VARIANTS) if variants is None else list(variants)
    for name in names:
        if name not in VARIANTS:
            raise ValueError(f"variants contains {name!r}; pick from {list(VARIANTS)}")
    rows = []
    for stage in stages:
        if stage not in range(1, len(num_heads) + 1):
            raise ValueError(f"stages contains stage={stage!r}; num_heads={num_heads} lists "
                             f"{len(num_heads)} stages, so expected each stage in "
                             f"1..{len(num_heads)}")
        side = image_size // 2 ** (stage + 1)
        if side % window_size or side == 0:
            raise ValueError(f"stage {stage} of image_size={image_size} has a {side}x{side} "
                             f"map, not a multiple of window_size={window_size}; use "
                             f"image_size = {window_size * 2 ** (stage + 1)} * k")
        dim, heads = embed_dim * 2 ** (stage - 1), num_heads[stage - 1]
        torch.manual_seed(seed)
        attention = WindowAttention(dim, window_size, heads).to(device).eval()
        x = torch.randn(batch_size, side, side, dim, device=device)
        fns = {name: _timed_call(VARIANTS[name], x, attention, fused) for name in names}
        with torch.inference_mode():
            times = run_alternating(fns, repeats)
        for name in names:
            paper = PAPER_TABLE5_MS.get(name)
            rows.append(dict(
                variant=name, stage=stage, resolution=side, dim=dim, heads=heads,
                ms=1e3 * statistics.median(times[name]),
                ratio=_paired_ratio(times[name], times[REFERENCE]) if REFERENCE in times
                else None,
                paper_ms=paper[stage - 1] if paper else None,
                paper_ratio=paper[stage - 1] / PAPER_TABLE5_MS[REFERENCE][stage - 1]
                if paper else None))
    return rows


def _int_sequence(name: str, values: object, low: int) -> tuple[int, ...]:
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise ArgumentTypeError(f"{name}={values!r} must be a non-empty sequence of integers")
    return tuple(check_int(f"{name}[{i}]", v, low=low) for i, v in enumerate(values))


def _paired_ratio(times: Sequence[float], reference: Sequence[float]) -> float:
    """Median over rounds of the ratio of two times measured in the same round: steadier
    than a ratio of medians when the machine's load changes during the run."""
    return statistics.median(a / b for a, b in zip(times, reference))


def _timed_call(fn: Callable[..., torch.Tensor], x: torch.Tensor, attention: WindowAttention,
                fused: bool) -> Callable[[], object]:
    def call() -> object:
        out = fn(x, attention, fused=fused)
        if out.is_cuda:
            torch.cuda.synchronize()
        return out
    return call


def format_table5(rows: Sequence[dict]) -> str:
    """Pivot :func:`table5` rows into the paper's layout: one line per method, one column per
    stage, ``time ms  xratio [paper xratio]`` in each cell."""
    keys = {"variant", "stage", "resolution", "dim", "ms", "ratio", "paper_ratio"}
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows or not all(
            isinstance(row, Mapping) and keys <= set(row) for row in rows):
        raise ArgumentTypeError(f"rows must be the non-empty list of dicts table5() returns "
                                f"(keys {sorted(keys)}), got {type(rows).__name__}")
    stages = sorted({row["stage"] for row in rows})
    names = list(dict.fromkeys(row["variant"] for row in rows))
    cell = {(row["variant"], row["stage"]): row for row in rows}
    first = {row["stage"]: row for row in reversed(rows)}
    header = ["method"] + [f"S{s} ({first[s]['resolution']}², C={first[s]['dim']})"
                           for s in stages]
    lines = [header]
    for name in names:
        line = [name]
        for s in stages:
            row = cell.get((name, s))
            if row is None:
                line.append("")
                continue
            text = f"{row['ms']:8.2f} ms"
            if row["ratio"] is not None:
                text += f"  x{row['ratio']:5.2f}"
            if row["paper_ratio"] is not None:
                text += f" [x{row['paper_ratio']:5.2f}]"
            line.append(text)
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in lines)
    return (text + f"\nmedian time per call; x = ratio to {REFERENCE}; "
            f"[x] = the paper's ratio (V100 GPU, Table 5)")
