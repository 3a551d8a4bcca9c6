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

from swin_edu._checks import check_positive, check_rank
from swin_edu.masks import shifted_window_mask
from swin_edu.relative_position import lookup_bias, relative_position_index
from swin_edu.windows import (shift_pair, check_window_args, cyclic_shift, reverse_cyclic_shift,
                              window_partition, window_reverse)

__all__ = ["WindowAttention", "explicit_attention", "global_attention",
           "shifted_window_attention", "cached_mask", "window_order"]


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       bias: torch.Tensor | None = None, dropout_p: float = 0.0) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + bias) v``, written out.

    Args:
        q, k, v: ``(..., heads, N, d)``.
        bias: broadcastable to ``(..., heads, N, N)`` (relative bias plus mask), or ``None``.
        dropout_p: dropout on the attention weights (pass 0 at inference).
    Returns:
        ``(..., heads, N, d)``.
    """
    q = q * q.shape[-1] ** -0.5
    logits = q @ k.transpose(-2, -1)  # (..., heads, N, N)
    if bias is not None:
        logits = logits + bias
    weights = F.dropout(logits.softmax(dim=-1), p=dropout_p) if dropout_p else \
        logits.softmax(dim=-1)
    return weights @ v


def global_attention(x: torch.Tensor, qkv: nn.Linear, proj: nn.Linear,
                     num_heads: int) -> torch.Tensor:
    """Plain multi-head self-attention over all tokens (ViT's MSA), for comparison.

    Args:
        x: ``(B, L, C)``, every token attends to all ``L`` tokens.
    Returns:
        ``(B, L, C)``. Cost grows with ``L^2``: see ``swin_edu.complexity.msa_flops``.
    """
    check_rank("x", x, 3, "(B, L, C)")
    B, L, C = x.shape
    if C % num_heads:
        raise ValueError(f"C={C} is not divisible by num_heads={num_heads}; pick num_heads "
                         f"among the divisors of {C}")
    q, k, v = qkv(x).view(B, L, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, d)
    return proj(out.transpose(1, 2).reshape(B, L, C))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with relative position bias.

    Parameter names follow the official code: ``qkv`` (Linear C -> 3C), ``proj`` (C -> C),
    ``relative_position_bias_table`` (``((2M-1)^2, heads)``); the index is a non-persistent
    buffer derived from ``window_size``.
    """

    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0) -> None:
        super().__init__()
        for name, value in (("dim", dim), ("window_size", window_size), ("num_heads", num_heads)):
            check_positive(name, value)
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
        self._bias_cache: dict[int, tuple] = {}

    def relative_position_bias(self) -> torch.Tensor:
        """``(heads, N, N)`` bias looked up from the table."""
        return lookup_bias(self.relative_position_bias_table, self.relative_position_index)

    def attention_bias(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Everything added to the logits: ``(1, heads, N, N)`` relative position bias, or
        ``(nW, heads, N, N)`` with the shifted-window mask ``(nW, N, N)`` added.

        When no gradient flows to the table (inference, or a frozen table) the result is
        reused for the same mask object while the table holds the same values: the check
        compares the table with a snapshot (``(2M-1)^2 x heads`` numbers, cheap), so any
        kind of update, ``.data`` edits included, is seen.
        """
        table = self.relative_position_bias_table
        if (torch.is_grad_enabled() and table.requires_grad) or torch.compiler.is_compiling():
            return self._attention_bias(mask)  # autograd (or the compiled graph) needs it
        version = None if mask is None else mask._version
        cached = self._bias_cache.get(id(mask))
        if cached is not None:
            snapshot, cached_mask_ref, cached_version, bias = cached
            if cached_mask_ref is mask and cached_version == version \
                    and snapshot.dtype == table.dtype and snapshot.device == table.device \
                    and torch.equal(snapshot, table):
                return bias
        with torch.inference_mode(False), torch.no_grad():  # a normal tensor, safe to reuse
            bias = self._attention_bias(mask)
            snapshot = table.detach().clone()
        if len(self._bias_cache) >= 2:  # W-MSA (no mask) and SW-MSA at the current size
            self._bias_cache.clear()
        self._bias_cache[id(mask)] = (snapshot, mask, version, bias)  # holding mask pins its id
        return bias

    def _attention_bias(self, mask: torch.Tensor | None) -> torch.Tensor:
        bias = self.relative_position_bias()  # (heads, N, N)
        if mask is None:
            return bias[None]
        return bias + mask.to(bias.dtype)[:, None]

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None = None,
                fused: bool = True) -> torch.Tensor:
        """Attend inside every window.

        Args:
            windows: ``(B * nW, N, C)`` with ``N = M*M``, windows of one image contiguous.
            mask: ``(nW, N, N)`` additive mask (0 = allowed) or ``None`` for W-MSA.
            fused: use ``scaled_dot_product_attention``; ``False`` runs the explicit softmax.
        Returns:
            ``(B * nW, N, C)``.
        """
        check_rank("windows", windows, 3, "(B * num_windows, M*M, C)")
        BnW, N, C = windows.shape
        if N != self.window_size ** 2 or C != self.dim:
            raise ValueError(f"windows has shape {tuple(windows.shape)}; expected (B * nW, "
                             f"{self.window_size ** 2}, {self.dim})")
        if mask is not None and (mask.dim() != 3 or mask.shape[1:] != (N, N)):
            raise ValueError(f"mask has shape {tuple(mask.shape)}; expected (nW, {N}, {N}) "
                             f"from swin_edu.masks.shifted_window_mask")
        nW = 1 if mask is None else mask.shape[0]
        if BnW % nW:
            raise ValueError(f"windows.shape[0]={BnW} is not a multiple of mask.shape[0]={nW}")
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


@lru_cache(maxsize=64)
def cached_mask(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
                device: torch.device | None = None) -> torch.Tensor:
    """:func:`swin_edu.masks.shifted_window_mask` for ``(S_h, S_w)``, built once per size.

    A pure function of its arguments, so caching keeps no state that could change a result.
    Every caller shares the returned tensor: treat it as read-only.
    """
    with torch.inference_mode(False):  # a normal tensor, usable by training later
        return shifted_window_mask(H, W, window_size, (shift_h, shift_w)).to(device)


@lru_cache(maxsize=64)
def window_order(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
                 device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cyclic shift + window partition as one permutation of the ``H*W`` tokens.

    Both steps only move tokens, so applying them to a map of token numbers records where
    each token goes; one gather with that order then does the work of two copies.

    Returns:
        ``(order, inverse)``, each ``(H*W,)`` long: ``tokens[:, order]`` lists the rolled
        map's windows one after another (``(B, H*W, C)`` -> ``(B, nW*M*M, C)``) and
        ``windows[:, inverse]`` puts them back.
    """
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
    check_rank("x", x, 4, "(B, H, W, C)")
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
