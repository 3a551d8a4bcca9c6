"""Window multi-head self-attention (W-MSA / SW-MSA) with relative position bias.

Inside every ``M x M`` window the ``N = M*M`` tokens attend to each other:

    Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B + mask) V

``B`` is the relative position bias (``swin_edu.relative_position``, notebook 04) and ``mask``
the shifted-window mask (``swin_edu.masks``; absent for W-MSA). Windows arrive as a batch
``(B * nW, N, C)``: attention never crosses a window boundary because each window is its own
row of the batch.

The model runs :func:`shifted_window_attention`, the steps the notebooks build: roll
(``windows.cyclic_shift``), ``window_partition``, attention with the mask, ``window_reverse``,
roll back. The attention itself comes two ways that compute the same numbers:
:func:`explicit_attention` spells the formula out (softmax and all) as the course teaches it;
the fused path (the default, ``fused=True``) hands the same logits to
``torch.nn.functional.scaled_dot_product_attention`` (one kernel, no ``N x N`` matrix kept for
autograd on CPU).

Taught in notebooks/03_window_attention and notebooks/05_shifted_windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from swin_edu._checks import (ArgumentTypeError, NotScriptable, check_bool, check_floating,
                              check_memory, check_positive, check_probability, check_rank,
                              refuse_jit)
from swin_edu.masks import MASKED_VALUE, shifted_window_mask
from swin_edu.memory import default_element_size
from swin_edu.relative_position import RelativePositionBias, index_bytes, table_bytes
from swin_edu.windows import (shift_pair, check_window_args, cyclic_shift, reverse_cyclic_shift,
                              window_partition, window_reverse)

__all__ = ["WindowAttention", "explicit_attention", "global_attention",
           "shifted_window_attention", "additive_mask"]


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       bias: torch.Tensor | None = None, dropout_p: float = 0.0) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + bias) v``, written out.

    Args:
        q, k, v: ``(..., heads, N, d)``.
        bias: broadcastable to ``(..., heads, N, N)`` (relative bias plus mask), or ``None``;
            a boolean ``bias`` is a mask in PyTorch's convention (see :func:`additive_mask`).
        dropout_p: dropout on the attention weights, in ``[0, 1)`` (pass 0 at inference).
    Returns:
        ``(..., heads, N, d)``. A query that may attend to no key at all (a row masked with
        ``False`` or ``-inf`` everywhere) gets zeros, as ``scaled_dot_product_attention`` gives.
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
    weights = logits.softmax(dim=-1)
    if bias is not None:
        # softmax over keys that are all -inf is 0/0; no key to attend to means no output
        weights = weights.masked_fill(torch.isneginf(logits).all(dim=-1, keepdim=True), 0.0)
    if dropout_p:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v


def additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32,
                  name: str = "mask") -> torch.Tensor:
    """A mask as the numbers added to the logits.

    A floating-point mask is additive already (``0`` = may attend, ``-100`` = masked, as
    :func:`swin_edu.masks.shifted_window_mask` builds it after the official code). A boolean
    mask follows PyTorch's ``scaled_dot_product_attention`` convention: **True = may attend,
    False = never attends** (``True -> 0``, ``False -> -inf``, so a masked key gets exactly zero
    weight however large its score). The float ``-100`` is not ``-inf``: a key whose score beats
    the allowed ones by about 100 still takes weight (notebook 05 shows where). Integer masks
    are refused: 0/1 is ambiguous.
    """
    if not isinstance(mask, torch.Tensor):
        raise ArgumentTypeError(f"{name} must be a torch.Tensor (float: additive, 0 = may "
                                f"attend; bool: True = may attend), got {_describe(mask)}")
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
            ~mask, float("-inf"))
    if not mask.is_floating_point():
        raise ArgumentTypeError(
            f"{name} has dtype {mask.dtype}; expected a float mask added to the logits (0 = may "
            f"attend, {MASKED_VALUE} = masked) or a bool mask in PyTorch's convention (True = "
            f"may attend)")
    return mask.to(dtype)


def sdpa_is_fused(dtype: torch.dtype, device: torch.device) -> bool:
    """Whether ``scaled_dot_product_attention`` without a mask runs a fused kernel (flash or
    memory-efficient: no ``L x L`` matrix) for this dtype and device, given the backends
    enabled now (``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)`` turns them off)."""
    flash = torch.backends.cuda.flash_sdp_enabled()  # (this switch governs the CPU kernel too)
    if device.type == "cpu":
        return flash and dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16)
    if device.type == "cuda":
        efficient = torch.backends.cuda.mem_efficient_sdp_enabled()
        return ((flash and dtype in (torch.float16, torch.bfloat16))
                or (efficient and dtype in (torch.float16, torch.bfloat16, torch.float32)))
    return False


def global_attention_bytes(x: torch.Tensor, num_heads: int) -> int:
    """Bytes :func:`global_attention` allocates for ``x`` ``(B, L, C)``: ``qkv`` ``(B, L, 3C)``,
    contiguous ``q, k, v`` for the kernel, its output and the projection (``8 B L C``), plus
    the ``(B, heads, L, L)`` logits and weights when no fused kernel applies (the math backend
    builds them; the fused kernels work block by block)."""
    B, L, C = x.shape
    nbytes = 8 * B * L * C * x.element_size()
    if not sdpa_is_fused(x.dtype, x.device):
        nbytes += 2 * B * num_heads * L * L * x.element_size()
    return nbytes


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
                 global_attention_bytes(x, num_heads), device=x.device)
    q, k, v = qkv(x).view(B, L, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, d)
    return proj(out.transpose(1, 2).reshape(B, L, C))


def attention_parameter_bytes(dim: int, window_size: int, num_heads: int) -> int:
    """Bytes a :class:`WindowAttention` allocates: ``qkv`` and ``proj`` (weights and biases),
    the bias table and the ``(M*M, M*M)`` index."""
    weights = (3 * dim * dim + 3 * dim + dim * dim + dim) * default_element_size()
    return weights + table_bytes(window_size, num_heads) + index_bytes(window_size)


class WindowAttention(NotScriptable, nn.Module):
    """Multi-head self-attention inside each window, with relative position bias.

    Parts: ``qkv`` (Linear C -> 3C), ``proj`` (C -> C) and ``relative_position_bias``, the
    :class:`~swin_edu.relative_position.RelativePositionBias` of notebook 04 (its table
    ``((2M-1)^2, heads)`` and a non-persistent index derived from ``window_size``). The state
    dict keeps the official key names: the official code stores the table on the attention
    module itself, so the table is saved and loaded as ``relative_position_bias_table``, not
    ``relative_position_bias.relative_position_bias_table`` (two small hooks below), and
    ``attention.relative_position_bias_table`` reads it.

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
        check_memory(f"WindowAttention(dim={dim}, window_size={window_size}, "
                     f"num_heads={num_heads}) (its weights, bias table and index)",
                     attention_parameter_bytes(dim, window_size, num_heads))
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        # (built after the Linear layers: the random numbers come out as they always did)
        self.relative_position_bias = RelativePositionBias(window_size, num_heads)
        self.register_state_dict_post_hook(_save_table_under_official_key)
        self.register_load_state_dict_pre_hook(_load_table_from_official_key)

    @property
    def relative_position_bias_table(self) -> nn.Parameter:
        """The learnable table ``((2M-1)^2, heads)``; official key
        ``attn.relative_position_bias_table``."""
        return self.relative_position_bias.relative_position_bias_table

    @property
    def relative_position_index(self) -> torch.Tensor:
        """The ``(M*M, M*M)`` index into the table (a non-persistent buffer)."""
        return self.relative_position_bias.relative_position_index

    def attention_bias(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Everything added to the logits: ``(1, heads, N, N)`` relative position bias, or
        ``(nW, heads, N, N)`` with the shifted-window mask ``(nW, N, N)`` added (a boolean
        mask is read as True = may attend, see :func:`additive_mask`). Built on every call.
        """
        bias = self.relative_position_bias()  # (heads, N, N), the same in every window
        if mask is None:
            return bias[None]
        return bias + additive_mask(mask, bias.dtype)[:, None]  # (nW, heads, N, N)

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None = None,
                fused: bool = True) -> torch.Tensor:
        """Attend inside every window.

        Args:
            windows: ``(B * nW, N, C)`` with ``N = M*M``, windows of one image contiguous.
            mask: ``(nW, N, N)``: float, added to the logits (0 = allowed, -100 = masked), or
                bool, True = may attend, False = never (PyTorch's convention); ``None`` for
                W-MSA.
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
        if nW != 1 and BnW != nW:  # the fused path repeats the bias for every image
            check_memory(f"the attention bias for {BnW} windows of {N} tokens",
                         BnW * self.num_heads * N * N * windows.element_size(),
                         device=windows.device)
        B, heads = BnW // nW, self.num_heads
        qkv = self.qkv(windows).view(B, nW, N, 3, heads, C // heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (B, nW, heads, N, d)
        bias = self.attention_bias(mask)  # (1 or nW, heads, N, N): broadcasts over the B images
        dropout = self.attn_drop if self.training else 0.0
        if fused:
            out = _fused_attention(q, k, v, bias, dropout)
        else:
            out = explicit_attention(q, k, v, bias, dropout)
        out = out.transpose(-3, -2).reshape(BnW, N, C)  # (B, nW, N, heads, d): heads into channels
        return self.proj_drop(self.proj(out))


def _fused_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor,
                     dropout: float) -> torch.Tensor:
    """``scaled_dot_product_attention`` on ``(B, nW, heads, N, d)`` with a ``(1 or nW, heads,
    N, N)`` bias.

    Its fused CPU kernel takes 4-D tensors only: given 5-D ones it falls back to the math
    backend, 2-3x slower. So the windows of all B images go back into one batch, and a
    per-window bias is repeated for each image (``(B*nW, heads, N, N)``), which on Swin's
    shapes (``N = 49``, ``d = 32``) costs less than any layout that would let it broadcast.
    """
    B = q.shape[0]
    if bias.shape[0] != 1 and B != 1:
        bias = bias.repeat(B, 1, 1, 1)  # (B*nW, heads, N, N)
    out = F.scaled_dot_product_attention(q.flatten(0, 1), k.flatten(0, 1), v.flatten(0, 1),
                                         attn_mask=bias.to(q.dtype), dropout_p=dropout)
    return out.view(q.shape)  # (B, nW, heads, N, d)


def _save_table_under_official_key(module: nn.Module, state_dict: dict, prefix: str,
                                   local_metadata: dict) -> None:
    """``state_dict()`` hook: ``relative_position_bias.relative_position_bias_table`` is saved
    as ``relative_position_bias_table``, the official checkpoints' key."""
    nested = prefix + "relative_position_bias.relative_position_bias_table"
    if nested in state_dict:
        state_dict[prefix + "relative_position_bias_table"] = state_dict.pop(nested)


def _load_table_from_official_key(module: nn.Module, state_dict: dict, prefix: str,
                                  *args) -> None:
    """``load_state_dict()`` hook, the inverse: the official key goes into the bias module."""
    official = prefix + "relative_position_bias_table"
    if official in state_dict:
        state_dict[prefix + "relative_position_bias.relative_position_bias_table"] = \
            state_dict.pop(official)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{value!r} ({type(value).__name__})"


def cached_mask(H: int, W: int, window_size: int, shift_h: int, shift_w: int,
                device: torch.device | str | None = None) -> torch.Tensor:
    """Deprecated: :func:`swin_edu.masks.shifted_window_mask` for ``(S_h, S_w)`` on ``device``.

    Nothing is cached any more (the name stays until its last caller, ``swin_edu.v2``, moves to
    ``shifted_window_mask``): the mask is built on every call, a fresh tensor each time.
    """
    check_window_args(H, W, window_size, shift_h, "shift_h")
    check_window_args(H, W, window_size, shift_w, "shift_w")
    if device is not None and not isinstance(device, (torch.device, str)):
        raise ArgumentTypeError(f"device={device!r} must be a torch.device, a string such as "
                                f"'cpu', or None")
    return shifted_window_mask(H, W, window_size, (shift_h, shift_w)).to(device)


def shifted_window_attention(x: torch.Tensor, attention: WindowAttention,
                             shift_size: int | tuple[int, int], fused: bool = True
                             ) -> torch.Tensor:
    """(S)W-MSA the course's way: roll, partition, attend with the mask, reverse, roll back.

    This is what every block of the model runs (after padding its map to whole windows).

    Args:
        x: ``(B, H, W, C)``, ``H`` and ``W`` multiples of ``attention.window_size``.
        attention: the window attention (weights and relative position bias).
        shift_size: ``S`` (both axes) or ``(S_h, S_w)``; ``0`` gives plain W-MSA.
        fused: attend with ``scaled_dot_product_attention`` (the model's default); ``False``
            uses :func:`explicit_attention`. Every other step is the same.
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
    mask = None
    if any(shift):
        x = cyclic_shift(x, shift)  # (B, H, W, C), rolled up and left
        mask = shifted_window_mask(H, W, M, shift).to(x.device)  # (nW, M*M, M*M)
    windows = window_partition(x, M).view(-1, M * M, C)  # (B*nW, M*M, C)
    windows = attention(windows, mask, fused=fused)  # (B*nW, M*M, C)
    x = window_reverse(windows.view(-1, M, M, C), M, H, W)  # (B, H, W, C)
    return reverse_cyclic_shift(x, shift) if any(shift) else x
