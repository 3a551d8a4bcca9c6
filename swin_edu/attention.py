"""Window multi-head self-attention (W-MSA / SW-MSA) with relative position bias.

Inside every ``M x M`` window the ``N = M*M`` tokens attend to each other:

    Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B + mask) V

``B`` is the relative position bias (``swin_edu.relative_position``) and ``mask`` the
shifted-window mask (``swin_edu.masks``; absent for W-MSA). Windows arrive as a batch
``(B * nW, N, C)``: attention never crosses a window boundary because each window is its own
row of the batch.

Two implementations compute the same numbers: :func:`explicit_attention` spells the formula
out (softmax and all) as the course teaches it; the fused path hands the same logits to
``torch.nn.functional.scaled_dot_product_attention`` (one kernel, no ``N x N`` matrix kept
for autograd on CPU), which is what the model uses.

Taught in notebooks/03_window_attention.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from swin_edu._checks import (ArgumentTypeError, NotScriptable, check_bool, check_floating,
                              check_memory, check_positive, check_probability, check_rank,
                              refuse_jit)
from swin_edu.masks import MASKED_VALUE, shifted_window_mask
from swin_edu.relative_position import lookup_bias, relative_position_index
from swin_edu.windows import (shift_pair, check_window_args, cyclic_shift, reverse_cyclic_shift,
                              window_partition, window_reverse)

__all__ = ["WindowAttention", "explicit_attention", "global_attention",
           "shifted_window_attention", "cached_mask", "window_order", "additive_mask"]


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       bias: torch.Tensor | None = None, dropout_p: float = 0.0) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + bias) v``, written out.

    Args:
        q, k, v: ``(..., heads, N, d)``.
        bias: broadcastable to ``(..., heads, N, N)`` (relative bias plus mask), or ``None``;
            a boolean ``bias`` is a mask in PyTorch's convention (see :func:`additive_mask`).
        dropout_p: dropout on the attention weights, in ``[0, 1)`` (pass 0 at inference).
    Returns:
        ``(..., heads, N, d)``.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or t.dim() < 2:
            raise ArgumentTypeError(f"{name} must be a torch.Tensor of shape (..., heads, N, "
                                    f"d), got {_describe(t)}")
        check_floating(name, t)
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}: q and k "
                         f"need the same last size d and k and v the same number of keys")
    dropout_p = check_probability("dropout_p", dropout_p)
    q = q * q.shape[-1] ** -0.5
    logits = q @ k.transpose(-2, -1)  # (..., heads, N, N)
    if bias is not None:
        logits = logits + additive_mask(bias, logits.dtype, name="bias")
    weights = F.dropout(logits.softmax(dim=-1), p=dropout_p) if dropout_p else \
        logits.softmax(dim=-1)
    return weights @ v


def additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32,
                  name: str = "mask") -> torch.Tensor:
    """A mask as the numbers added to the logits.

    A floating-point mask is additive already (``0`` = may attend, ``-100`` = masked, as
    :func:`swin_edu.masks.shifted_window_mask` builds it). A boolean mask follows PyTorch's
    ``scaled_dot_product_attention`` convention, **True = may attend**: ``True -> 0`` and
    ``False -> MASKED_VALUE`` (``-100``, the package's masked value, so a boolean mask and its
    float twin give the same output). Integer masks are refused: 0/1 is ambiguous.
    """
    if not isinstance(mask, torch.Tensor):
        raise ArgumentTypeError(f"{name} must be a torch.Tensor (float: additive, 0 = may "
                                f"attend; bool: True = may attend), got {_describe(mask)}")
    if mask.dtype == torch.bool:
        return torch.where(mask, 0.0, MASKED_VALUE).to(dtype)
    if not mask.is_floating_point():
        raise ArgumentTypeError(
            f"{name} has dtype {mask.dtype}; expected a float mask added to the logits (0 = may "
            f"attend, {MASKED_VALUE} = masked) or a bool mask in PyTorch's convention (True = "
            f"may attend)")
    return mask.to(dtype)


def global_attention(x: torch.Tensor, qkv: nn.Linear, proj: nn.Linear,
                     num_heads: int) -> torch.Tensor:
    """Plain multi-head self-attention over all tokens (ViT's MSA), for comparison.

    Args:
        x: ``(B, L, C)``, every token attends to all ``L`` tokens.
        qkv: ``Linear(C, 3C)``; proj: ``Linear(C, C)``.
    Returns:
        ``(B, L, C)``. Cost grows with ``L^2``: see ``swin_edu.complexity.msa_flops``.
    """
    check_rank("x", x, 3, "(B, L, C)")
    check_floating("x", x)
    num_heads = check_positive("num_heads", num_heads)
    B, L, C = x.shape
    if C % num_heads:
        raise ValueError(f"C={C} is not divisible by num_heads={num_heads}; pick num_heads "
                         f"among the divisors of {C}")
    for name, layer, out in (("qkv", qkv, 3 * C), ("proj", proj, C)):
        if not isinstance(layer, nn.Linear) or layer.in_features != C or \
                layer.out_features != out:
            raise ArgumentTypeError(f"{name} must be an nn.Linear({C}, {out}) for x with C={C}, "
                                    f"got {layer!r}")
    check_memory(f"global attention over x of shape {tuple(x.shape)} (L={L} tokens)",
                 B * num_heads * L * L * x.element_size())
    q, k, v = qkv(x).view(B, L, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, d)
    return proj(out.transpose(1, 2).reshape(B, L, C))


class WindowAttention(NotScriptable, nn.Module):
    """Multi-head self-attention inside each window, with relative position bias.

    Parameter names follow the official code: ``qkv`` (Linear C -> 3C), ``proj`` (C -> C),
    ``relative_position_bias_table`` (``((2M-1)^2, heads)``); the index is a non-persistent
    buffer derived from ``window_size``.

    Nothing is cached on the module: the bias is looked up from the table and the index on
    every call, so any edit of either (or of a mask) is seen at once. A cache was measured and
    dropped: reusing the bias saves under 5% of a Swin-T forward (``benchmarks/RESULTS.md``).
    """

    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0) -> None:
        super().__init__()
        dim = check_positive("dim", dim)
        window_size = check_positive("window_size", window_size)
        num_heads = check_positive("num_heads", num_heads)
        check_bool("qkv_bias", qkv_bias)
        attn_drop = check_probability("attn_drop", attn_drop)
        proj_drop = check_probability("proj_drop", proj_drop)
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}; pick "
                             f"num_heads among the divisors of {dim}")
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size),
                             persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self) -> torch.Tensor:
        """``(heads, N, N)`` bias looked up from the table."""
        return lookup_bias(self.relative_position_bias_table, self.relative_position_index)

    def attention_bias(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Everything added to the logits: ``(1, heads, N, N)`` relative position bias, or
        ``(nW, heads, N, N)`` with the shifted-window mask ``(nW, N, N)`` added (a boolean
        mask is read as True = may attend, see :func:`additive_mask`). Built on every call.
        """
        bias = self.relative_position_bias()  # (heads, N, N)
        if mask is None:
            return bias[None]
        return bias + additive_mask(mask, bias.dtype)[:, None]

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None = None,
                fused: bool = True) -> torch.Tensor:
        """Attend inside every window.

        Args:
            windows: ``(B * nW, N, C)`` with ``N = M*M``, windows of one image contiguous.
            mask: ``(nW, N, N)``: float, added to the logits (0 = allowed, -100 = masked), or
                bool, True = may attend (PyTorch's convention); ``None`` for W-MSA.
            fused: use ``scaled_dot_product_attention``; ``False`` runs the explicit softmax.
        Returns:
            ``(B * nW, N, C)``.
        """
        refuse_jit("WindowAttention")
        check_rank("windows", windows, 3, "(B * num_windows, M*M, C)")
        check_floating("windows", windows, self.qkv.weight)
        check_bool("fused", fused)
        BnW, N, C = windows.shape
        if N != self.window_size ** 2 or C != self.dim:
            raise ValueError(f"windows has shape {tuple(windows.shape)}; expected (B * nW, "
                             f"{self.window_size ** 2}, {self.dim})")
        if mask is not None:
            check_rank("mask", mask, 3, f"(nW, {N}, {N})")
            if mask.shape[1:] != (N, N):
                raise ValueError(f"mask has shape {tuple(mask.shape)}; expected (nW, {N}, {N}) "
                                 f"from swin_edu.masks.shifted_window_mask")
        nW = 1 if mask is None else mask.shape[0]
        if nW == 0 or BnW % nW:
            raise ValueError(f"windows.shape[0]={BnW} is not a multiple of mask.shape[0]={nW}")
        if nW != 1 and BnW != nW:
            check_memory(f"the attention bias for {BnW} windows of {N} tokens",
                         BnW * self.num_heads * N * N * windows.element_size())
        head_dim = C // self.num_heads
        qkv = self.qkv(windows).view(BnW, N, 3, self.num_heads, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B*nW, heads, N, d)
        bias = self.attention_bias(mask)  # (1 or nW, heads, N, N)
        if bias.shape[0] != 1 and BnW != nW:
            # one bias per window of the batch; the fused CPU kernel accepts only 4-D masks
            bias = bias.repeat(BnW // nW, 1, 1, 1)  # (B*nW, heads, N, N)
        dropout = self.attn_drop if self.training else 0.0
        if fused:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                                 dropout_p=dropout)
        else:
            out = explicit_attention(q, k, v, bias, dropout)
        out = out.transpose(1, 2).reshape(BnW, N, C)  # heads back into channels
        return self.proj_drop(self.proj(out))


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{value!r} ({type(value).__name__})"


def cached_mask(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
                device: torch.device | str | None = None) -> torch.Tensor:
    """:func:`swin_edu.masks.shifted_window_mask` for ``(S_h, S_w)``, built once per size.

    A pure function of its arguments, so caching keeps no state that could change a result;
    every call returns a fresh copy (a few hundred kB), so editing one changes nothing
    anywhere else.
    """
    _check_sizes(H, W, window_size, shift_h, shift_w)
    return _mask(H, W, window_size, shift_h, shift_w, _device(device)).clone()


@lru_cache(maxsize=64)
def _mask(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
          device: torch.device | None) -> torch.Tensor:
    with torch.inference_mode(False):  # a normal tensor, usable by training later
        return shifted_window_mask(H, W, window_size, (shift_h, shift_w)).to(device)


def _check_sizes(H: int, W: int, window_size: int, shift_h: int, shift_w: int) -> None:
    check_window_args(H, W, window_size, shift_h, "shift_h")
    check_window_args(H, W, window_size, shift_w, "shift_w")


def _device(device: torch.device | str | None) -> torch.device | None:
    if device is None or isinstance(device, torch.device):
        return device
    if isinstance(device, str):
        return torch.device(device)
    raise ArgumentTypeError(f"device={device!r} must be a torch.device, a string such as "
                            f"'cpu', or None")


def window_order(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
                 device: torch.device | str | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cyclic shift + window partition as one permutation of the ``H*W`` tokens.

    Both steps only move tokens, so applying them to a map of token numbers records where
    each token goes; one gather with that order then does the work of two copies.

    Returns:
        ``(order, inverse)``, each ``(H*W,)`` long: ``tokens[:, order]`` lists the rolled
        map's windows one after another (``(B, H*W, C)`` -> ``(B, nW*M*M, C)``) and
        ``windows[:, inverse]`` puts them back. Fresh copies on every call (built once per
        size).
    """
    _check_sizes(H, W, window_size, shift_h, shift_w)
    order, inverse = _order(H, W, window_size, shift_h, shift_w, _device(device))
    return order.clone(), inverse.clone()


@lru_cache(maxsize=64)
def _order(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
           device: torch.device | None) -> tuple[torch.Tensor, torch.Tensor]:
    check_memory(f"the window order of H={H}, W={W}", 4 * H * W * 8)
    with torch.inference_mode(False):  # normal tensors: training saves them for backward
        tokens = torch.arange(H * W).view(1, H, W, 1)
        order = window_partition(cyclic_shift(tokens, (shift_h, shift_w)),
                                 window_size).reshape(-1)
        return order.to(device), torch.argsort(order).to(device)


def shifted_window_attention(x: torch.Tensor, attention: WindowAttention,
                             shift_size: int | tuple[int, int], fused: bool = True
                             ) -> torch.Tensor:
    """(S)W-MSA the course's way: roll, partition, attend with the mask, reverse, roll back.

    Args:
        x: ``(B, H, W, C)``, ``H`` and ``W`` multiples of ``attention.window_size``.
        attention: the window attention (weights and relative position bias).
        shift_size: ``S`` (both axes) or ``(S_h, S_w)``; ``0`` gives plain W-MSA.
        fused: the model's fast path (roll + partition as one gather, see
            :func:`window_order`, and ``scaled_dot_product_attention``); ``False`` runs each
            step as the course teaches it, with the explicit softmax.
    Returns:
        ``(B, H, W, C)``: every token attended only to the tokens of its (shifted) window.
    """
    refuse_jit("shifted_window_attention")
    check_rank("x", x, 4, "(B, H, W, C)")
    if not isinstance(attention, WindowAttention):
        raise ArgumentTypeError(f"attention must be a swin_edu WindowAttention, got "
                                f"{type(attention).__name__}")
    check_bool("fused", fused)
    B, H, W, C = x.shape
    M = attention.window_size
    shift = shift_pair(shift_size)
    for axis_shift in shift:
        check_window_args(H, W, M, axis_shift)
    mask = cached_mask(H, W, M, *shift, device=x.device) if any(shift) else None
    if fused:
        order, inverse = window_order(H, W, M, *shift, device=x.device)
        windows = x.reshape(B, H * W, C).index_select(1, order)  # (B, nW*M*M, C)
        windows = attention(windows.view(-1, M * M, C), mask)  # (B*nW, M*M, C)
        return windows.view(B, H * W, C).index_select(1, inverse).view(B, H, W, C)
    if any(shift):
        x = cyclic_shift(x, shift)  # (B, H, W, C), rolled up and left
    windows = window_partition(x, M).reshape(-1, M * M, C)  # (B*nW, M*M, C)
    windows = attention(windows, mask, fused=False)
    x = window_reverse(windows.reshape(-1, M, M, C), M, H, W)  # (B, H, W, C)
    return reverse_cyclic_shift(x, shift) if any(shift) else x
