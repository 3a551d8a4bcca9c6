"""Swin Transformer V2: the three changes that let Swin scale (Liu et al., CVPR 2022).

V2 keeps V1's pieces (patch embedding, windows, cyclic shift, the shifted-window mask, patch
merging's 2 x 2 concatenation) and changes three things inside every block:

1. **Residual post-norm.** V1 normalises *before* each branch, ``x + attn(norm1(x))``; V2
   normalises the branch's *output*, inside the residual: ``x + norm1(attn(x))`` and
   ``x + norm2(mlp(x))``. Deep, wide models then stop accumulating activations in the main
   path. Patch merging follows suit: reduction first, then a LayerNorm of ``2C`` channels
   (V1: LayerNorm of ``4C``, then reduction).
2. **Scaled cosine attention.** ``q`` and ``k`` are unit vectors, so their product is a
   cosine in ``[-1, 1]``; a learned per-head scale ``tau`` replaces ``1 / sqrt(d)``::

       Attention = SoftMax(cos(q, k) * exp(min(logit_scale, log(1 / 0.01))) + B + mask) V

   ``logit_scale`` starts at ``log(10)`` and is clamped at ``log(100)``: the logits stay within
   ``[-100, 100]`` and no head can become arbitrarily sharp.
3. **Log-spaced continuous position bias.** Instead of a learned table with one entry per
   offset, a small MLP (``cpb_mlp``: Linear(2, 512), ReLU, Linear(512, heads)) maps each
   relative offset ``(dy, dx)`` to a bias, after rescaling the offsets to ``[-8, 8]`` and
   compressing them with ``sign(t) * log2(1 + |t|) / log2(8)`` (:func:`log_spaced_coords`).
   The bias is ``16 * sigmoid(mlp(...))``, in ``(0, 16)``. Because the MLP takes coordinates,
   not table rows, the same weights serve *any* window size: fine-tuning from window 8 to 24
   extrapolates smoothly (``pretrained_window_sizes`` keeps the pre-training scale).

The query and value projections have biases (``q_bias``, ``v_bias``) but the key has none: a
key bias would add the same number to every logit of a row and cancel in the softmax.

Window rule (the official V2 block, decided at every forward): when the map's shorter side
fits in one window (``min(H, W) <= window_size``) the window shrinks to that side and the
block does not shift (:func:`window_and_shift`). V1 pads to a whole window instead, because
its bias table is tied to the window size; V2's continuous bias has no such tie. Any other
size is zero-padded to whole windows and cropped afterwards, as Hugging Face does.

State-dict keys are the official ``models/swin_transformer_v2.py`` names
(``layers.0.blocks.0.attn.cpb_mlp.0.weight``, ``...attn.logit_scale``, ``...attn.q_bias``,
``layers.0.downsample.norm.weight``, ...); the derived buffers an official checkpoint also
holds (``relative_coords_table``, ``relative_position_index``, ``attn_mask``) are recomputed
here and skipped when loading, so an official checkpoint's ``"model"`` dict loads strictly.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from swin_edu._checks import (ArgumentTypeError, NotScriptable, check_bool, check_floating,
                              check_int, check_memory, check_positive, check_probability,
                              check_rank, check_shift, refuse_jit)
from swin_edu.attention import additive_mask
from swin_edu.masks import shifted_window_mask
from swin_edu.model import (VARIANTS, DropPath, Mlp, _check_mlp_ratio, _init_weights,
                            _stage_tuple)
from swin_edu.patches import PatchEmbed, merge_patches
from swin_edu.relative_position import relative_position_index
from swin_edu.windows import (cyclic_shift, pad_to_window, reverse_cyclic_shift,
                              window_partition, window_reverse)

__all__ = ["log_spaced_coords", "window_and_shift", "cosine_attention", "WindowAttentionV2",
           "SwinTransformerV2Block", "PatchMergingV2", "BasicLayerV2", "SwinTransformerV2",
           "swinv2_t", "swinv2_s", "swinv2_b", "LOGIT_SCALE_MAX", "CPB_HIDDEN"]

LOGIT_SCALE_MAX = math.log(1.0 / 0.01)
"""Upper clamp of ``logit_scale`` (``log(100)``): cosine logits stay within ``[-100, 100]``."""

CPB_HIDDEN = 512
"""Hidden width of the continuous-position-bias MLP (the official value)."""

# Official derived buffers: recomputed from the window size, never loaded.
_DERIVED_BUFFERS = ("relative_coords_table", "relative_position_index", "attn_mask")


def log_spaced_coords(window_size: int, pretrained_window_size: int = 0) -> torch.Tensor:
    """The log-spaced relative coordinates fed to ``cpb_mlp``: one row per offset.

    Each offset ``(dy, dx)``, ``dy, dx`` in ``[-(M-1), M-1]``, is divided by ``M - 1`` (by
    ``M_pre - 1`` when ``pretrained_window_size = M_pre > 0``, so that a fine-tuned model at a
    larger window sees the pre-training scale and extrapolates beyond it), multiplied by 8 and
    compressed: ``t -> sign(t) * log2(1 + |t|) / log2(8)``. Offsets inside the pre-training
    window land within ``+-log2(9) / 3 = +-1.057``; a window 3x larger (24 after 8) reaches
    only ``+-1.59``: the MLP extrapolates a little, not 3x beyond what it was trained on.

    Args:
        window_size: ``M``.
        pretrained_window_size: ``M_pre``, or 0 (normalise by the window itself).
    Returns:
        ``((2M-1)^2, 2)`` float32; row ``(dy + M - 1) * (2M - 1) + (dx + M - 1)`` holds the
        coordinates of ``(dy, dx)``: the row numbering of
        :func:`swin_edu.relative_position.relative_position_index`. Equal to the official
        ``relative_coords_table.view(-1, 2)``.
    """
    window_size = check_positive("window_size", window_size)
    pretrained_window_size = check_int("pretrained_window_size", pretrained_window_size, low=0,
                                       hint="0 normalises by the window itself")
    check_memory(f"the coordinates of window_size={window_size}", (2 * window_size) ** 2 * 8)
    return _log_spaced_coords(window_size, pretrained_window_size).clone()


@lru_cache(maxsize=32)
def _log_spaced_coords(window_size: int, pretrained_window_size: int) -> torch.Tensor:
    with torch.inference_mode(False):
        offsets = torch.arange(-(window_size - 1), window_size, dtype=torch.float32)
        grid = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), dim=-1)
        scale = pretrained_window_size if pretrained_window_size > 0 else window_size
        if scale > 1:  # a 1x1 window has only the offset 0 (Hugging Face guards it alike)
            grid = grid / (scale - 1)
        grid = grid * 8  # offsets inside the (pre-training) window now in [-8, 8]
        grid = torch.sign(grid) * torch.log2(grid.abs() + 1.0) / math.log2(8)
        return grid.reshape(-1, 2)  # ((2M-1)^2, 2)


@lru_cache(maxsize=32)
def _index(window_size: int) -> torch.Tensor:
    with torch.inference_mode(False):
        return relative_position_index(window_size)


def window_and_shift(H: int, W: int, window_size: int, shift_size: int) -> tuple[int, int]:
    """Window and shift a V2 block uses on an ``H x W`` map (before padding).

    The official V2 ``SwinTransformerBlock.__init__`` rule, applied at every forward: when the
    shorter side fits in one window (``min(H, W) <= window_size``) the window shrinks to that
    side and the block does not shift; otherwise ``(window_size, shift_size)``. Swin-V2-T at
    224 with window 8: stage 4 is 7x7, so it uses one 7x7 window, unshifted.

    Returns:
        ``(window, shift)``.
    """
    H, W = check_positive("H", H), check_positive("W", W)
    window_size = check_positive("window_size", window_size)
    shift_size = check_shift(shift_size, window_size)
    if min(H, W) <= window_size:
        return min(H, W), 0
    return window_size, shift_size


def cosine_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     logit_scale: torch.Tensor, bias: torch.Tensor | None = None,
                     dropout_p: float = 0.0, fused: bool = True) -> torch.Tensor:
    """Scaled cosine attention: ``softmax(cos(q, k) * tau + bias) v``.

    Args:
        q, k, v: ``(..., heads, N, d)``.
        logit_scale: ``(heads, 1, 1)``, the learned log of ``tau``; clamped at
            :data:`LOGIT_SCALE_MAX` (``log(100)``) and exponentiated here.
        bias: broadcastable to ``(..., heads, N, N)``: position bias plus mask, or ``None``.
        dropout_p: dropout on the attention weights, in ``[0, 1)``.
        fused: ``scaled_dot_product_attention`` (``scale=1``: the temperature is already in
            ``q``); ``False`` writes the softmax out.
    Returns:
        ``(..., heads, N, d)``.
    """
    for name, t, layout in (("q", q, "(..., heads, N, d)"), ("k", k, "(..., heads, N, d)"),
                            ("v", v, "(..., heads, N, d)"), ("logit_scale", logit_scale,
                                                             "(heads, 1, 1)")):
        if not isinstance(t, torch.Tensor) or t.dim() < 3:
            raise ArgumentTypeError(f"{name} must be a torch.Tensor of shape {layout}, got "
                                    f"{_describe(t)}")
        check_floating(name, t)
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}: q and k "
                         f"need the same last size d and k and v the same number of keys")
    if logit_scale.dim() != 3 or logit_scale.shape[0] not in (1, q.shape[-3]) \
            or logit_scale.shape[1:] != (1, 1):
        raise ValueError(f"logit_scale has shape {tuple(logit_scale.shape)}; expected "
                         f"({q.shape[-3]}, 1, 1), one scale per head")
    dropout_p = check_probability("dropout_p", dropout_p)
    check_bool("fused", fused)
    tau = torch.clamp(logit_scale, max=LOGIT_SCALE_MAX).exp()  # (heads, 1, 1), at most 100
    q = F.normalize(q, dim=-1) * tau  # unit queries, times the temperature
    k = F.normalize(k, dim=-1)  # unit keys: q @ k^T is now tau * cosine
    bias = None if bias is None else additive_mask(bias, q.dtype, name="bias")
    if fused:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p,
                                              scale=1.0)
    logits = q @ k.transpose(-2, -1)  # (..., heads, N, N), in [-tau, tau]
    if bias is not None:
        logits = logits + bias
    weights = logits.softmax(dim=-1)
    if dropout_p:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v


class WindowAttentionV2(NotScriptable, nn.Module):
    """Window attention with scaled cosine attention and the continuous position bias.

    Parameters (official names): ``qkv`` (Linear C -> 3C, no bias), ``q_bias`` and ``v_bias``
    (``(C,)``, when ``qkv_bias``), ``logit_scale`` (``(heads, 1, 1)``), ``cpb_mlp`` (Linear(2,
    512), ReLU, Linear(512, heads, no bias)), ``proj``. None of them depends on the window
    size, so one module serves every window: :meth:`forward` reads the window from the
    number of tokens per window.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, pretrained_window_size: int = 0) -> None:
        super().__init__()
        dim = check_positive("dim", dim)
        num_heads = check_positive("num_heads", num_heads)
        check_bool("qkv_bias", qkv_bias)
        attn_drop = check_probability("attn_drop", attn_drop)
        proj_drop = check_probability("proj_drop", proj_drop)
        self.pretrained_window_size = check_int("pretrained_window_size",
                                                pretrained_window_size, low=0)
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}; pick "
                             f"num_heads among the divisors of {dim}")
        self.dim = dim
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(num_heads, 1, 1)))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, CPB_HIDDEN), nn.ReLU(inplace=True),
                                     nn.Linear(CPB_HIDDEN, num_heads, bias=False))
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def relative_position_bias(self, window_size: int) -> torch.Tensor:
        """``(heads, M*M, M*M)``: ``16 * sigmoid(cpb_mlp(coords))`` looked up per pair."""
        window_size = check_positive("window_size", window_size)
        weight = self.cpb_mlp[0].weight
        coords = _log_spaced_coords(window_size, self.pretrained_window_size)
        table = self.cpb_mlp(coords.to(weight.device, weight.dtype))  # ((2M-1)^2, heads)
        index = _index(window_size).to(weight.device)
        N = window_size * window_size
        bias = table[index.reshape(-1)].view(N, N, self.num_heads).permute(2, 0, 1)
        return 16 * torch.sigmoid(bias)  # (heads, N, N), each in (0, 16)

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None = None,
                fused: bool = True) -> torch.Tensor:
        """Attend inside every window.

        Args:
            windows: ``(B * nW, N, C)`` with ``N = M*M`` for the window side ``M``.
            mask: ``(nW, N, N)`` additive (0 = allowed, -100 = masked) or bool (True = may
                attend); ``None`` for W-MSA.
            fused: ``scaled_dot_product_attention``; ``False``: the explicit softmax.
        Returns:
            ``(B * nW, N, C)``.
        """
        refuse_jit("WindowAttentionV2")
        check_rank("windows", windows, 3, "(B * num_windows, M*M, C)")
        check_floating("windows", windows, self.qkv.weight)
        check_bool("fused", fused)
        BnW, N, C = windows.shape
        M = math.isqrt(N)
        if M * M != N or N == 0 or C != self.dim:
            raise ValueError(f"windows has shape {tuple(windows.shape)}; expected (B * nW, M*M, "
                             f"{self.dim}) with M*M a square number of tokens per window")
        if mask is not None:
            check_rank("mask", mask, 3, f"(nW, {N}, {N})")
            if mask.shape[1:] != (N, N) or mask.shape[0] == 0 or BnW % mask.shape[0]:
                raise ValueError(f"mask has shape {tuple(mask.shape)}; expected (nW, {N}, {N}) "
                                 f"with nW dividing windows.shape[0]={BnW}")
            check_memory(f"the attention bias for {BnW} windows of {N} tokens",
                         BnW * self.num_heads * N * N * windows.element_size())
        qkv_bias = None
        if self.q_bias is not None:  # the key gets no bias: it would cancel in the softmax
            qkv_bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(windows, self.qkv.weight, qkv_bias)  # (B*nW, N, 3C)
        qkv = qkv.view(BnW, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B*nW, heads, N, d)
        bias = self.relative_position_bias(M)[None]  # (1, heads, N, N)
        if mask is not None:
            nW = mask.shape[0]
            bias = bias + additive_mask(mask, bias.dtype)[:, None]  # (nW, heads, N, N)
            bias = bias.repeat(BnW // nW, 1, 1, 1)  # (B*nW, heads, N, N), image-major
        dropout = self.attn_drop if self.training else 0.0
        out = cosine_attention(q, k, v, self.logit_scale, bias.to(q.dtype), dropout, fused)
        out = out.transpose(1, 2).reshape(BnW, N, C)  # heads back into channels
        return self.proj_drop(self.proj(out))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        _drop_derived(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class SwinTransformerV2Block(nn.Module):
    """One V2 block, residual post-norm: ``x + norm1(attn(x))`` then ``x + norm2(mlp(x))``.

    ``shift_size == 0`` gives W-MSA, ``window_size // 2`` SW-MSA. ``(B, H, W, C)`` -> same.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int = 8, shift_size: int = 0,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0,
                 pretrained_window_size: int = 0) -> None:
        super().__init__()
        dim = check_positive("dim", dim)
        window_size = check_positive("window_size", window_size)
        shift_size = check_shift(shift_size, window_size)
        _check_mlp_ratio(mlp_ratio, dim)
        drop = check_probability("drop", drop)
        self.window_size = window_size
        self.shift_size = shift_size
        self.attn = WindowAttentionV2(dim, num_heads, qkv_bias, attn_drop, drop,
                                      pretrained_window_size)
        self.norm1 = nn.LayerNorm(dim)
        self.drop_path = DropPath(drop_path)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_rank("x", x, 4, "(B, H, W, C)")
        if x.shape[-1] != self.attn.dim:
            raise ValueError(f"x has {x.shape[-1]} channels; expected dim={self.attn.dim}")
        x = x + self.drop_path(self.norm1(self.window_attention(x)))  # norm *inside* the residual
        return x + self.drop_path(self.norm2(self.mlp(x)))

    def window_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Pad to whole windows, roll, partition, attend, reverse, unroll, crop.
        ``(B, H, W, C)`` in and out."""
        B, H, W, C = x.shape
        window, shift = window_and_shift(H, W, self.window_size, self.shift_size)
        x, pad_h, pad_w = pad_to_window(x, window)  # (B, Hp, Wp, C)
        Hp, Wp = H + pad_h, W + pad_w
        mask = None
        if shift:
            x = cyclic_shift(x, shift)  # rolled up and left
            mask = shifted_window_mask(Hp, Wp, window, shift).to(x.device)  # (nW, N, N)
        windows = window_partition(x, window).view(-1, window * window, C)  # (B*nW, N, C)
        windows = self.attn(windows, mask)
        x = window_reverse(windows.view(-1, window, window, C), window, Hp, Wp)  # (B, Hp, Wp, C)
        if shift:
            x = reverse_cyclic_shift(x, shift)
        return x[:, :H, :W, :]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        _drop_derived(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class PatchMergingV2(NotScriptable, nn.Module):
    """V2 patch merging, reduction then norm: ``(B, H, W, C)`` -> ``(B, H/2, W/2, 2C)``.

    The same 2 x 2 concatenation as V1 (:func:`swin_edu.patches.merge_patches`); then
    ``reduction`` (Linear 4C -> 2C, no bias) and ``norm`` (LayerNorm of ``2C``), the official
    V2 order (V1 normalises the ``4C`` vector first). Odd sides are zero-padded first.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        dim = check_positive("dim", dim)
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        refuse_jit("PatchMergingV2")
        check_rank("x", x, 4, "(B, H, W, C)")
        check_floating("x", x, self.reduction.weight)
        if x.shape[-1] != self.dim:
            raise ValueError(f"x has {x.shape[-1]} channels; expected dim={self.dim}")
        H, W = x.shape[1:3]
        if H % 2 or W % 2:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        return self.norm(self.reduction(merge_patches(x)))  # (B, H/2, W/2, 2C)


class BasicLayerV2(nn.Module):
    """One V2 stage: ``depth`` blocks alternating W-MSA / SW-MSA, then optional merging.

    ``(B, H, W, C)`` -> ``(B, H/2, W/2, 2C)`` with downsampling, else unchanged.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, window_size: int = 8,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float | list[float] = 0.0,
                 downsample: bool = False, pretrained_window_size: int = 0) -> None:
        super().__init__()
        depth = check_positive("depth", depth)
        window_size = check_positive("window_size", window_size)
        check_bool("downsample", downsample)
        rates = drop_path if isinstance(drop_path, list) else [drop_path] * depth
        if len(rates) != depth:
            raise ValueError(f"drop_path has {len(rates)} rates; expected one per block, "
                             f"depth={depth}")
        self.blocks = nn.ModuleList(
            SwinTransformerV2Block(dim, num_heads, window_size,
                                   shift_size=0 if i % 2 == 0 else window_size // 2,
                                   mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop,
                                   attn_drop=attn_drop, drop_path=rates[i],
                                   pretrained_window_size=pretrained_window_size)
            for i in range(depth))
        self.downsample = PatchMergingV2(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)

    def init_res_post_norm(self) -> None:
        """Zero every block's norm1/norm2 (weight and bias), as the official V2 initialises:
        each residual branch starts as nothing and the block as the identity."""
        for block in self.blocks:
            for norm in (block.norm1, block.norm2):
                nn.init.zeros_(norm.weight)
                nn.init.zeros_(norm.bias)


class SwinTransformerV2(nn.Module):
    """The V2 network; state-dict keys are the official ``swin_transformer_v2.py``'s.

    ``(B, in_chans, H, W)`` -> ``(B, num_classes)`` logits (``(B, C_last)`` features when
    ``num_classes == 0``). Defaults: Swin-V2-T at 256x256 with window 8, the smallest released
    V2 configuration (``swinv2_tiny_patch4_window8_256``). ``img_size`` is recorded only: any
    input size works (see :func:`window_and_shift`). ``pretrained_window_sizes`` (one per
    stage, 0 = the window itself) rescales the position-bias coordinates as the official
    fine-tuned checkpoints need (e.g. ``(12, 12, 12, 6)`` for ``window12to24``).
    """

    def __init__(self, img_size: int = 256, patch_size: int = 4, in_chans: int = 3,
                 num_classes: int = 1000, embed_dim: int = 96,
                 depths: tuple[int, ...] = (2, 2, 6, 2),
                 num_heads: tuple[int, ...] = (3, 6, 12, 24),
                 window_size: int = 8, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.1,
                 patch_norm: bool = True,
                 pretrained_window_sizes: tuple[int, ...] | None = None) -> None:
        super().__init__()
        for name, value in (("img_size", img_size), ("patch_size", patch_size),
                            ("embed_dim", embed_dim), ("window_size", window_size)):
            check_positive(name, value)
        depths, num_heads = _stage_tuple("depths", depths), _stage_tuple("num_heads", num_heads)
        if not depths:
            raise ValueError("depths=() must list at least one stage, e.g. (2, 2, 6, 2)")
        if len(depths) != len(num_heads):
            raise ValueError(f"depths={depths} and num_heads={num_heads} must have one entry "
                             f"per stage")
        if pretrained_window_sizes is None:
            pretrained_window_sizes = (0,) * len(depths)
        if not isinstance(pretrained_window_sizes, (tuple, list)) \
                or len(pretrained_window_sizes) != len(depths):
            raise ValueError(f"pretrained_window_sizes={pretrained_window_sizes!r}; expected "
                             f"one integer >= 0 per stage ({len(depths)}), e.g. "
                             f"{(0,) * len(depths)}")
        pretrained = tuple(check_int(f"pretrained_window_sizes[{i}]", v, low=0)
                           for i, v in enumerate(pretrained_window_sizes))
        num_classes = check_int("num_classes", num_classes, low=0, hint="0 gives features")
        _check_mlp_ratio(mlp_ratio, embed_dim)
        for name, rate in (("drop_rate", drop_rate), ("attn_drop_rate", attn_drop_rate),
                           ("drop_path_rate", drop_path_rate)):
            check_probability(name, rate)
        for name, flag in (("qkv_bias", qkv_bias), ("patch_norm", patch_norm)):
            check_bool(name, flag)
        self.img_size = img_size
        self.patch_size = patch_size
        self.window_size = window_size
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        self.depths = depths
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.pretrained_window_sizes = pretrained
        self.num_layers = len(depths)
        self.num_features = embed_dim * 2 ** (self.num_layers - 1)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, patch_norm)
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        self.layers = nn.ModuleList(
            BasicLayerV2(embed_dim * 2 ** i, depths[i], num_heads[i], window_size, mlp_ratio,
                         qkv_bias, drop_rate, attn_drop_rate,
                         rates[sum(depths[:i]):sum(depths[:i + 1])],
                         downsample=i < self.num_layers - 1, pretrained_window_size=pretrained[i])
            for i in range(self.num_layers))
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)
        for layer in self.layers:
            layer.init_res_post_norm()

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W)`` -> pooled features ``(B, num_features)``.

        Refuses (``ValueError``) an input whose largest intermediate tensor would exceed the
        memory limit (``swin_edu.memory``).
        """
        refuse_jit("SwinTransformerV2")
        check_rank("images", images, 4, "(B, in_chans, H, W)")
        check_floating("images", images, self.patch_embed.proj.weight)
        from swin_edu.complexity import largest_activation_bytes  # (complexity reads models)
        check_memory(f"the forward pass of images {tuple(images.shape)}",
                     largest_activation_bytes(self, images.shape[0], images.shape[2],
                                              images.shape[3], images.element_size()))
        x = self.pos_drop(self.patch_embed(images))  # (B, H/4, W/4, C)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).mean(dim=(1, 2))  # average over tokens

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W)`` -> ``(B, num_classes)``."""
        return self.head(self.forward_features(images))


def _variant(name: str, **overrides) -> SwinTransformerV2:
    return SwinTransformerV2(**{**VARIANTS[name], **overrides})


def swinv2_t(**overrides) -> SwinTransformerV2:
    """Swin-V2-T: C=96, depths (2, 2, 6, 2), 28.3M parameters; 256x256, window 8 by default."""
    return _variant("T", **overrides)


def swinv2_s(**overrides) -> SwinTransformerV2:
    """Swin-V2-S: C=96, depths (2, 2, 18, 2), 49.7M parameters; 256x256, window 8."""
    return _variant("S", **overrides)


def swinv2_b(**overrides) -> SwinTransformerV2:
    """Swin-V2-B: C=128, depths (2, 2, 18, 2), 87.9M parameters; 256x256, window 8."""
    return _variant("B", **overrides)


def _drop_derived(state_dict: dict, prefix: str) -> None:
    """Remove the official derived buffers under ``prefix`` (recomputed here, never loaded)."""
    for name in _DERIVED_BUFFERS:
        state_dict.pop(prefix + name, None)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{value!r} ({type(value).__name__})"
