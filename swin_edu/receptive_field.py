"""Receptive field by autograd: which input pixels one output token depends on.

Run a real (small, seeded) :class:`~swin_edu.model.SwinTransformer` up to a named point (after
the patch embedding, after block ``b`` of stage ``s``, after patch merging ``s``), take one
token of the map there, and ask autograd for the gradient of that token with respect to the
input image. A pixel the token does not depend on gets a gradient of exactly zero, except
through masked attention pairs, whose weight is ``exp(-100)`` rather than 0: "depends" means
a gradient above ``threshold`` times the largest one (see ``REACH_THRESHOLD``).

This extends notebook 05's "gradient reach" cell (two attention layers on one map) across
patch merging and through whole stages. Drawn by ``swin_edu.viz.draw_receptive_field``.
"""

from __future__ import annotations

import torch
from torch import nn

from swin_edu._checks import (ArgumentTypeError, check_int, check_int_pair, check_positive,
                              check_real, check_swin, image_pair)
from swin_edu.model import SwinTransformer, effective_shift

__all__ = ["small_swin", "reach_steps", "forward_steps", "step_stage", "step_stride",
           "token_at_pixel", "receptive_fields", "receptive_field", "reach_maps", "reach_map",
           "stage_shift", "REACH_THRESHOLD"]

# Relative to the largest gradient. Measured on small_swin(128) for tokens in the middle and
# at both corners, every step: real dependencies stay above 1e-11 of the largest gradient,
# leaks through masked pairs (attention weight exp(-100)) below 1e-44. 1e-25 sits between.
REACH_THRESHOLD = 1e-25


def small_swin(image_size: int = 128, seed: int = 0) -> SwinTransformer:
    """A tiny 3-stage Swin (patch 4, window 4, C = 8, two blocks per stage), seeded, in eval
    mode. ``(B, 1, H, W)`` images.

    At ``image_size=128`` the stages see 32x32, 16x16 and 8x8 tokens (8x8, 4x4 and 2x2
    windows): every stage has more than one window, so every second block shifts.
    Its Linear layers get PyTorch's default initialisation instead of Swin's
    ``trunc_normal(std=0.02)``: with 0.02 the gradient reaching a far pixel through three
    attention layers falls to 1e-18 of the largest, too close to the masked-pair leaks.
    """
    check_positive("image_size", image_size)
    torch.manual_seed(check_int("seed", seed, low=0))
    model = SwinTransformer(img_size=image_size, patch_size=4, in_chans=1, num_classes=0,
                            embed_dim=8, depths=(2, 2, 2), num_heads=(1, 2, 4),
                            window_size=4, mlp_ratio=2.0, drop_path_rate=0.0)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.reset_parameters()
    return model.eval()


def reach_steps(model: SwinTransformer) -> list[str]:
    """Names of the points where a map can be probed, in network order.

    ``"patch embedding"``, then per stage ``"stage s block b (W-MSA)"`` or ``(SW-MSA)`` (as
    configured: a block whose map fits in one window does not actually shift, see
    ``effective_shift``) and ``"patch merging s"`` after every stage but the last.
    """
    check_swin("model", model)
    names = ["patch embedding"]
    for s, layer in enumerate(model.layers, start=1):
        for b, block in enumerate(layer.blocks, start=1):
            kind = "SW-MSA" if block.shift_size else "W-MSA"
            names.append(f"stage {s} block {b} ({kind})")
        if layer.downsample is not None:
            names.append(f"patch merging {s}")
    return names


def forward_steps(model: SwinTransformer, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every map of the network, keyed by :func:`reach_steps` names.

    ``(B, in_chans, H, W)`` -> ``{name: (B, h, w, C)}`` channels-last, as the model computes
    them (no absolute position embedding, no dropout: use a model in eval mode).
    """
    names = iter(reach_steps(model))
    x = model.patch_embed(images)  # (B, H/4, W/4, C)
    maps = {next(names): x}
    for layer in model.layers:
        for block in layer.blocks:
            x = block(x)
            maps[next(names)] = x
        if layer.downsample is not None:
            x = layer.downsample(x)
            maps[next(names)] = x
    return maps


def step_stage(model: SwinTransformer, step: str) -> tuple[int, int | None]:
    """The stage (from 1) whose map ``step`` outputs (patch merging ``s`` feeds stage
    ``s + 1``), and its block (``None`` for the patch embedding and patch merging)."""
    if step not in reach_steps(model):
        raise ValueError(f"step={step!r} is not a point of this model; expected one of "
                         f"{reach_steps(model)}")
    words = step.split()
    if step == "patch embedding":
        return 1, None
    if words[0] == "patch":  # "patch merging s" feeds stage s + 1
        return int(words[2]) + 1, None
    return int(words[1]), int(words[3])


def step_stride(model: SwinTransformer, step: str) -> int:
    """Pixels per token side of the map after ``step``: ``patch_size * 2**(stage - 1)``."""
    stage = step_stage(model, step)[0]
    return model.patch_size * 2 ** (stage - 1)


def token_at_pixel(model: SwinTransformer, step: str,
                   pixel: tuple[int, int]) -> tuple[int, int]:
    """The token ``(row, col)`` of the map after ``step`` whose patch holds ``pixel``."""
    stride = step_stride(model, step)
    pixel = check_int_pair("pixel", pixel, low=0)
    return pixel[0] // stride, pixel[1] // stride


def receptive_fields(model: SwinTransformer, tokens: dict[str, tuple[int, int]],
                     image_size: int | tuple[int, int] = 128,
                     seed: int = 0) -> dict[str, torch.Tensor]:
    """:func:`receptive_field` for several ``{step: token}`` at once (one forward pass)."""
    check_swin("model", model)
    if not isinstance(tokens, dict) or not tokens:
        raise ArgumentTypeError(f"tokens={tokens!r} must be a non-empty dict {{step: (row, "
                                f"col)}}, e.g. {{'patch embedding': (0, 0)}}")
    check_int("seed", seed, low=0)
    H, W = image_pair(image_size)
    in_chans = model.patch_embed.proj.in_channels
    image = torch.randn(1, in_chans, H, W, generator=torch.Generator().manual_seed(seed))
    image.requires_grad_(True)
    maps = forward_steps(model, image)
    fields = {}
    for step, token in tokens.items():
        step_stage(model, step)  # a clear error for an unknown step
        row, col = check_int_pair("token", token)
        out = maps[step]  # (1, h, w, C)
        h, w, C = out.shape[1:]
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"token={(row, col)!r} is outside the {h}x{w} map after {step!r}; "
                             f"pick row in [0, {h}) and col in [0, {w})")
        mix = torch.randn(C, generator=torch.Generator().manual_seed(seed + 1))  # (C,)
        grad, = torch.autograd.grad((out[0, row, col] * mix).sum(), image, retain_graph=True)
        fields[step] = grad[0].abs().sum(0)  # (H, W)
    return fields


def receptive_field(model: SwinTransformer, step: str, token: tuple[int, int],
                    image_size: int | tuple[int, int] = 128, seed: int = 0) -> torch.Tensor:
    """How strongly the token at ``token = (row, col)`` of the map after ``step`` depends on
    each input pixel: ``|d (out[token] . mix) / d image|``, summed over input channels.

    The input is a seeded random image ``(1, in_chans, H, W)``; the token's channels are
    mixed by a seeded random vector ``mix`` (their plain sum would not do: after a LayerNorm
    with its initial weights, the channels of a token always sum to 0).

    Returns:
        ``(H, W)`` float tensor, non-negative; zero (up to masked-pair leaks of order
        ``exp(-100)``) where the token does not depend on the pixel.
    """
    return receptive_fields(model, {step: token}, image_size, seed)[step]


def reach_maps(model: SwinTransformer, tokens: dict[str, tuple[int, int]],
               image_size: int | tuple[int, int] = 128, seed: int = 0,
               threshold: float = REACH_THRESHOLD) -> dict[str, torch.Tensor]:
    """:func:`reach_map` for several ``{step: token}`` at once (one forward pass)."""
    check_real("threshold", threshold, low=0.0, high=1.0, low_open=True, high_open=True)
    fields = receptive_fields(model, tokens, image_size, seed)
    return {step: field > threshold * field.max() for step, field in fields.items()}


def reach_map(model: SwinTransformer, step: str, token: tuple[int, int],
              image_size: int | tuple[int, int] = 128, seed: int = 0,
              threshold: float = REACH_THRESHOLD) -> torch.Tensor:
    """``(H, W)`` bool: the input pixels the token depends on (gradient above ``threshold``
    times the largest gradient), from :func:`receptive_field`."""
    return reach_maps(model, {step: token}, image_size, seed, threshold)[step]


def stage_shift(model: SwinTransformer, stage: int, block: int,
                map_size: tuple[int, int]) -> tuple[int, int]:
    """The shift block ``block`` of ``stage`` (both from 1) really applies on a map of
    ``map_size`` tokens: its ``shift_size`` after ``effective_shift``'s rule."""
    check_swin("model", model)
    stage = check_int("stage", stage, low=1, high=len(model.layers))
    block = check_int("block", block, low=1, high=len(model.layers[stage - 1].blocks))
    map_size = check_int_pair("map_size", map_size, low=1)
    blk = model.layers[stage - 1].blocks[block - 1]
    ws = blk.window_size
    padded = [-(-n // ws) * ws for n in map_size]
    return effective_shift(*padded, ws, blk.shift_size, blk.shift_rule)
