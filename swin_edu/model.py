"""The Swin Transformer: block, stage and network (Swin-T/S/B/L).

Data flow, channels-last between modules::

    image (B, 3, H, W)
      -> PatchEmbed                 (B, H/4, W/4, C)
      -> stage 1..4: blocks          W-MSA and SW-MSA blocks alternate
                     PatchMerging   (B, H/2, W/2, 2C) after stages 1-3
      -> LayerNorm, mean over tokens, Linear head -> (B, num_classes)

Any input size works and nothing is remembered between calls: each block pads its map to a
multiple of the window, decides its shift with ``effective_shift`` (the official rule by
default: no shift once the shorter side fits in one window; ``shift_rule="always"`` is the
detection backbone's), builds the mask for that padded size and crops afterwards.

Taught in notebooks/07_swin_transformer.
"""

from __future__ import annotations

import math
import torch
from torch import nn

from swin_edu._checks import (ArgumentTypeError, check_bool, check_floating, check_int,
                              check_memory, check_positive, check_probability, check_rank,
                              check_real, check_shift, image_pair, refuse_jit)
from swin_edu.attention import (WindowAttention, attention_parameter_bytes,
                                shifted_window_attention)
from swin_edu.memory import default_element_size
from swin_edu.patches import PatchEmbed, PatchMerging, patch_embed_bytes, patch_merging_bytes
from swin_edu.windows import pad_to_window

__all__ = ["SwinTransformerBlock", "BasicLayer", "SwinTransformer", "swin_t", "swin_s",
           "swin_b", "swin_l", "VARIANTS", "stage_shapes", "effective_shift", "SHIFT_RULES"]

VARIANTS: dict[str, dict] = {
    "T": dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24)),
    "S": dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24)),
    "B": dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32)),
    "L": dict(embed_dim=192, depths=(2, 2, 18, 2), num_heads=(6, 12, 24, 48)),
}


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch for a random subset of samples in training."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        drop_prob = check_probability("drop_path", drop_prob, hint="the official Swin-T uses "
                                      "a schedule rising to drop_path_rate=0.2")
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep) / keep


def mlp_bytes(dim: int, hidden_dim: int) -> int:
    """Bytes of an :class:`Mlp`'s parameters."""
    return (2 * dim * hidden_dim + hidden_dim + dim) * default_element_size()


def block_bytes(dim: int, window_size: int, num_heads: int, hidden_dim: int) -> int:
    """Bytes of a :class:`SwinTransformerBlock`'s parameters and index."""
    return (4 * dim * default_element_size() + mlp_bytes(dim, hidden_dim)
            + attention_parameter_bytes(dim, window_size, num_heads))


def model_parameter_bytes(img_size: int, patch_size: int, in_chans: int, num_classes: int,
                          embed_dim: int, depths: tuple[int, ...], num_heads: tuple[int, ...],
                          window_size: int, mlp_ratio: float, ape: bool) -> int:
    """Bytes a :class:`SwinTransformer` allocates for its parameters and buffers, counted
    from its arguments (before anything is built)."""
    size = default_element_size()
    nbytes = patch_embed_bytes(patch_size, in_chans, embed_dim)
    if ape:
        nbytes += math.ceil(img_size / patch_size) ** 2 * embed_dim * size
    dim = embed_dim
    for i, (depth, heads) in enumerate(zip(depths, num_heads)):
        nbytes += depth * block_bytes(dim, window_size, heads, int(dim * mlp_ratio))
        if i < len(depths) - 1:
            nbytes += patch_merging_bytes(dim)
            dim *= 2
    return nbytes + (2 * dim + (dim + 1) * num_classes) * size


class Mlp(nn.Module):
    """Linear -> GELU -> Linear, applied to every token. ``(..., C)`` -> ``(..., C)``."""

    def __init__(self, dim: int, hidden_dim: int, drop: float = 0.0) -> None:
        super().__init__()
        dim, hidden_dim = check_positive("dim", dim), check_positive("hidden_dim", hidden_dim)
        check_memory(f"Mlp(dim={dim}, hidden_dim={hidden_dim}) (its weights)",
                     mlp_bytes(dim, hidden_dim))
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


SHIFT_RULES = ("official", "per_axis", "always")


def effective_shift(H: int, W: int, window_size: int, shift_size: int,
                    rule: str = "official") -> tuple[int, int]:
    """Shift per axis ``(shift_h, shift_w)`` for an ``H x W`` map cut into ``window_size``
    windows (``H``, ``W`` before or after padding: the answer is the same).

    The one place where the three shift rules live:

    - ``"official"`` (default): the official classification code (``SwinTransformerBlock.
      __init__``) and Hugging Face, the convention the ImageNet checkpoints were trained with.
      When the *shorter* side fits in one window (``min(H, W) <= window_size``) the block does
      not shift on either axis; otherwise it shifts both axes by ``shift_size``. A Swin-T stage 4
      at 224x448 is 7x14: no shift at all.
    - ``"per_axis"``: torchvision's rule. Each axis is judged on its own: an axis that fits in
      one window is not shifted (rolling a single window only wraps it onto itself), the other
      still is. The same 7x14 stage shifts by ``(0, 3)``.
    - ``"always"``: the official detection backbone (microsoft/Swin-Transformer-Object-Detection,
      the convention its COCO checkpoints were trained with). Every SW-MSA block shifts both
      axes by ``shift_size``, whatever the map's size; a map that fits in one window is rolled
      and its window split by the mask. The same 7x14 stage shifts by ``(3, 3)``, and so does
      Swin-T's 7x7 last stage at 224.

    Whenever both sides exceed the window the three rules agree (for Swin-T: both image sides
    above 224 px); on square maps ``"official"`` and ``"per_axis"`` agree.

    Where a stage is *smaller* than the window (e.g. 4x4 with window 7), the official code
    shrinks the window to the map, which changes the shape of the bias table; Hugging Face
    keeps its table and fails. swin_edu keeps the window and pads the map to one whole window,
    as the detection backbone does; it shifts there only under ``"always"``.
    """
    H, W = check_positive("H", H), check_positive("W", W)
    window_size = check_positive("window_size", window_size)
    shift_size = check_shift(shift_size, window_size)
    check_shift_rule(rule, name="rule")
    if rule == "always":
        return (shift_size, shift_size)
    if rule == "official":
        fits = min(H, W) <= window_size
        return (0, 0) if fits else (shift_size, shift_size)
    return (shift_size if H > window_size else 0, shift_size if W > window_size else 0)


class SwinTransformerBlock(nn.Module):
    """One Swin block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    ``shift_size == 0`` gives W-MSA, ``shift_size == window_size // 2`` SW-MSA.
    ``(B, H, W, C)`` -> ``(B, H, W, C)``.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int = 7, shift_size: int = 0,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0,
                 shift_rule: str = "official") -> None:
        super().__init__()
        dim = check_positive("dim", dim)
        window_size = check_positive("window_size", window_size)
        shift_size = check_shift(shift_size, window_size)
        check_shift_rule(shift_rule)
        _check_mlp_ratio(mlp_ratio, dim)
        drop = check_probability("drop", drop)
        num_heads = check_positive("num_heads", num_heads)
        check_memory(f"SwinTransformerBlock(dim={dim}, num_heads={num_heads}, window_size="
                     f"{window_size}, mlp_ratio={mlp_ratio}) (its weights)",
                     block_bytes(dim, window_size, num_heads, int(dim * mlp_ratio)))
        self.window_size = window_size
        self.shift_size = shift_size
        self.shift_rule = shift_rule
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_rank("x", x, 4, "(B, H, W, C)")
        x = x + self.drop_path(self.window_attention(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def window_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Pad to whole windows, (S)W-MSA, crop. ``(B, H, W, C)`` in and out (``x`` is
        already normalised: the padded tokens are zeros, as in the reference
        implementations)."""
        _, H, W, _ = x.shape
        x, pad_h, pad_w = pad_to_window(x, self.window_size)  # (B, Hp, Wp, C)
        shift = effective_shift(H + pad_h, W + pad_w, self.window_size, self.shift_size,
                                self.shift_rule)
        # roll, partition, attend with the mask built on the padded map, reverse, roll back
        x = shifted_window_attention(x, self.attn, shift)  # (B, Hp, Wp, C)
        return x[:, :H, :W, :]


class BasicLayer(nn.Module):
    """One stage: ``depth`` blocks alternating W-MSA / SW-MSA, then optional patch merging.

    ``(B, H, W, C)`` -> ``(B, H/2, W/2, 2C)`` with downsampling, else unchanged.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, window_size: int = 7,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float | list[float] = 0.0,
                 downsample: bool = False, shift_rule: str = "official") -> None:
        super().__init__()
        depth = check_positive("depth", depth)
        check_bool("downsample", downsample)
        check_shift_rule(shift_rule)
        rates = drop_path if isinstance(drop_path, list) else [drop_path] * depth
        if len(rates) != depth:
            raise ValueError(f"drop_path has {len(rates)} rates; expected one per block, "
                             f"depth={depth}")
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(dim, num_heads, window_size,
                                 shift_size=0 if i % 2 == 0 else window_size // 2,
                                 mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop,
                                 attn_drop=attn_drop, drop_path=rates[i],
                                 shift_rule=shift_rule)
            for i in range(depth))
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class SwinTransformer(nn.Module):
    """The whole network; state-dict keys are the official repository's.

    ``(B, in_chans, H, W)`` -> ``(B, num_classes)`` logits (or ``(B, C_last)`` features when
    ``num_classes == 0``).
    """

    def __init__(self, img_size: int = 224, patch_size: int = 4, in_chans: int = 3,
                 num_classes: int = 1000, embed_dim: int = 96,
                 depths: tuple[int, ...] = (2, 2, 6, 2), num_heads: tuple[int, ...] = (3, 6, 12, 24),
                 window_size: int = 7, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.1,
                 ape: bool = False, patch_norm: bool = True,
                 shift_rule: str = "official") -> None:
        super().__init__()
        check_shift_rule(shift_rule)
        for name, value in (("img_size", img_size), ("patch_size", patch_size),
                            ("in_chans", in_chans), ("embed_dim", embed_dim),
                            ("window_size", window_size)):
            check_positive(name, value)
        depths, num_heads = _stage_tuple("depths", depths), _stage_tuple("num_heads", num_heads)
        if not depths:
            raise ValueError("depths=() must list at least one stage, e.g. (2, 2, 6, 2)")
        num_classes = check_int("num_classes", num_classes, low=0, hint="0 gives features")
        if len(depths) != len(num_heads):
            raise ValueError(f"depths={depths} and num_heads={num_heads} must have one entry "
                             f"per stage")
        _check_mlp_ratio(mlp_ratio, embed_dim)
        for name, rate in (("drop_rate", drop_rate), ("attn_drop_rate", attn_drop_rate),
                           ("drop_path_rate", drop_path_rate)):
            check_probability(name, rate)
        for name, flag in (("qkv_bias", qkv_bias), ("ape", ape), ("patch_norm", patch_norm)):
            check_bool(name, flag)
        check_memory(f"SwinTransformer(embed_dim={embed_dim}, depths={depths}, num_heads="
                     f"{num_heads}, window_size={window_size}, num_classes={num_classes}, "
                     f"img_size={img_size}) (its parameters)",
                     model_parameter_bytes(img_size, patch_size, in_chans, num_classes,
                                           embed_dim, depths, num_heads, window_size,
                                           mlp_ratio, ape))
        self.img_size = img_size
        self.patch_size = patch_size
        self.window_size = window_size
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        self.depths = tuple(depths)
        self.num_heads = tuple(num_heads)
        self.mlp_ratio = mlp_ratio
        self.shift_rule = shift_rule
        self.num_layers = len(depths)
        self.num_features = embed_dim * 2 ** (self.num_layers - 1)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, patch_norm)
        self.patches_resolution = math.ceil(img_size / patch_size)
        self.absolute_pos_embed = nn.Parameter(
            torch.zeros(1, self.patches_resolution ** 2, embed_dim)) if ape else None
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()  # stochastic depth decay
        self.layers = nn.ModuleList(
            BasicLayer(embed_dim * 2 ** i, depths[i], num_heads[i], window_size, mlp_ratio,
                       qkv_bias, drop_rate, attn_drop_rate,
                       rates[sum(depths[:i]):sum(depths[:i + 1])],
                       downsample=i < self.num_layers - 1, shift_rule=shift_rule)
            for i in range(self.num_layers))
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        if self.absolute_pos_embed is not None:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        self.apply(_init_weights)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W)`` -> pooled features ``(B, num_features)``.

        Refuses (``ValueError``) an input whose forward pass would need more memory than the
        limit (``swin_edu.memory``; the estimate is ``complexity.forward_memory_bytes``, with
        the activations autograd keeps when gradients are on).
        """
        refuse_jit("SwinTransformer")
        check_rank("images", images, 4, "(B, in_chans, H, W)")
        check_floating("images", images, self.patch_embed.proj.weight)
        from swin_edu.complexity import forward_memory_bytes  # (complexity reads models)
        grad = torch.is_grad_enabled() and (images.requires_grad or any(
            p.requires_grad for p in self.parameters()))
        check_memory(f"the forward pass of images {tuple(images.shape)}"
                     f"{' with gradients' if grad else ''}",
                     forward_memory_bytes(self, images.shape[0], images.shape[2],
                                          images.shape[3], images.element_size(), grad=grad),
                     hint="use a smaller image or batch" + (
                         "" if not grad else ", or torch.no_grad() for inference"),
                     device=images.device)
        x = self.patch_embed(images)  # (B, H/4, W/4, C)
        if self.absolute_pos_embed is not None:
            side = self.patches_resolution
            if x.shape[1:3] != (side, side):
                raise ValueError(f"ape=True needs images of img_size={self.img_size}; got "
                                 f"{tuple(images.shape[-2:])}")
            x = x + self.absolute_pos_embed.view(1, side, side, -1)
        x = self.pos_drop(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).mean(dim=(1, 2))  # average over tokens, as avgpool does

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W)`` -> ``(B, num_classes)``."""
        return self.head(self.forward_features(images))


def check_shift_rule(shift_rule: str, name: str = "shift_rule") -> None:
    """Refuse a shift rule other than those of ``SHIFT_RULES`` (see ``effective_shift``)."""
    if not isinstance(shift_rule, str) or shift_rule not in SHIFT_RULES:
        raise ValueError(f"{name}={shift_rule!r}; expected one of {SHIFT_RULES}: "
                         f"'official' (the official classification code and Hugging Face), "
                         f"'per_axis' (torchvision) or 'always' (the official detection "
                         f"backbone)")


def _check_mlp_ratio(mlp_ratio: float, dim: int) -> None:
    """``mlp_ratio`` real, with a hidden layer of at least one unit (``int(dim * ratio)``)."""
    check_real("mlp_ratio", mlp_ratio, low=0.0, low_open=True, hint="Swin uses 4.0")
    if int(dim * mlp_ratio) < 1:
        raise ValueError(f"mlp_ratio={mlp_ratio} gives an MLP hidden size of int({dim} * "
                         f"{mlp_ratio}) = 0; use at least {1 / dim:.3g} (Swin uses 4.0)")


def _stage_tuple(name: str, values: object) -> tuple[int, ...]:
    """One positive integer per stage."""
    if not isinstance(values, (tuple, list)):
        raise ArgumentTypeError(f"{name}={values!r} must be a tuple with one positive "
                                f"integer per stage, e.g. (2, 2, 6, 2)")
    return tuple(check_positive(f"{name}[{i}]", v) for i, v in enumerate(values))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def _variant(name: str, **overrides) -> SwinTransformer:
    return SwinTransformer(**{**VARIANTS[name], **overrides})


def swin_t(**overrides) -> SwinTransformer:
    """Swin-T: C=96, depths (2, 2, 6, 2), 28.3M parameters, 4.5 GFLOPs at 224."""
    return _variant("T", **overrides)


def swin_s(**overrides) -> SwinTransformer:
    """Swin-S: C=96, depths (2, 2, 18, 2), 50M parameters, 8.7 GFLOPs at 224."""
    return _variant("S", **overrides)


def swin_b(**overrides) -> SwinTransformer:
    """Swin-B: C=128, depths (2, 2, 18, 2), 88M parameters, 15.4 GFLOPs at 224."""
    return _variant("B", **overrides)


def swin_l(**overrides) -> SwinTransformer:
    """Swin-L: C=192, depths (2, 2, 18, 2), 197M parameters, 34.5 GFLOPs at 224."""
    return _variant("L", **overrides)


def stage_shapes(variant: str | SwinTransformer, image_size: int | tuple[int, int],
                 batch_size: int = 1) -> list[dict]:
    """Tensor shapes through the network, computed from the size rules (no forward pass).

    Args:
        variant: ``"T"``, ``"S"``, ``"B"``, ``"L"`` or a model.
        image_size: ``H`` or ``(H, W)`` of the input image.
    Returns:
        One dict per step: ``name``, ``shape`` (channels-last), ``window_grid`` (windows per
        axis after padding, for stages) and ``padded`` (the padded map size, for stages).
    """
    if isinstance(variant, SwinTransformer):
        embed_dim, depths, heads = variant.embed_dim, variant.depths, variant.num_heads
        patch, window = variant.patch_size, variant.window_size
        in_chans = variant.patch_embed.proj.in_channels
    elif isinstance(variant, str) and variant in VARIANTS:
        embed_dim, depths, heads = (VARIANTS[variant][k] for k in ("embed_dim", "depths",
                                                                  "num_heads"))
        patch, window, in_chans = 4, 7, 3
    else:
        raise ValueError(f"variant={variant!r}; expected one of {sorted(VARIANTS)} or a "
                         f"SwinTransformer")

    H, W = image_pair(image_size)
    batch_size = check_int("batch_size", batch_size, low=0)
    h, w, c = math.ceil(H / patch), math.ceil(W / patch), embed_dim
    steps = [dict(name="image", shape=(batch_size, in_chans, H, W)),
             dict(name="patch embedding", shape=(batch_size, h, w, c))]
    for i, (depth, num_heads) in enumerate(zip(depths, heads)):
        ph, pw = math.ceil(h / window) * window, math.ceil(w / window) * window
        steps.append(dict(name=f"stage {i + 1}: {depth} blocks, {num_heads} heads",
                          shape=(batch_size, h, w, c), padded=(ph, pw),
                          window_grid=(ph // window, pw // window)))
        if i < len(depths) - 1:
            h, w, c = math.ceil(h / 2), math.ceil(w / 2), 2 * c
            steps.append(dict(name=f"patch merging {i + 1}", shape=(batch_size, h, w, c)))
    steps.append(dict(name="head", shape=(batch_size, c)))
    return steps
