"""Swin as a detection backbone: four feature maps at strides 4, 8, 16, 32.

A detector (Mask R-CNN, Cascade R-CNN, ...) does not want one pooled vector but a *pyramid*:
the output of every stage, before its patch merging, each normalised by its own LayerNorm and
laid out channels-first for the convolutional neck (FPN)::

    image (B, 3, H, W)
      -> PatchEmbed                         (B, H/4, W/4, C)
      -> stage 1 blocks -> norm0 -> map 0   (B, C,  H/4,  W/4)    then PatchMerging
      -> stage 2 blocks -> norm1 -> map 1   (B, 2C, H/8,  W/8)    then PatchMerging
      -> stage 3 blocks -> norm2 -> map 2   (B, 4C, H/16, W/16)   then PatchMerging
      -> stage 4 blocks -> norm3 -> map 3   (B, 8C, H/32, W/32)

(sides rounded up: any image size works, padded as the classifier pads). This is the
official detection backbone (Swin-Transformer-Object-Detection,
``mmdet/models/backbones/swin_transformer.py`` with ``out_indices=(0, 1, 2, 3)``) and Hugging
Face's ``SwinBackbone`` with ``out_features=["stage1", ..., "stage4"]``. The classifier's final
``norm`` and ``head`` are not part of it.

The stages are the classifier's (:class:`swin_edu.model.SwinTransformer`), run with the
detection code's shift rule, ``shift_rule="always"`` (:func:`swin_edu.model.effective_shift`):
every SW-MSA block shifts, even on a stage whose shorter side fits in one window, where the
official classifier stops shifting. At detection sizes every stage is larger than a window and
the rules agree; at 224x224 stage 4 is one 7x7 window, which the detection backbone still rolls
and masks.

State-dict keys are the official detection backbone's: ``patch_embed.*``, ``layers.*`` (as in
the classifier) and ``norm0`` ... ``norm3``, so its checkpoints (keys prefixed ``backbone.``)
load once the prefix is removed; :func:`swin_edu.convert.from_hf` converts an HF
``SwinBackbone`` state dict.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from swin_edu._checks import ArgumentTypeError, check_floating, check_memory, check_rank, refuse_jit
from swin_edu.model import SwinTransformer, check_shift_rule, swin_b, swin_l, swin_s, swin_t

__all__ = ["SwinBackbone", "BACKBONE_VARIANTS", "STRIDES"]

BACKBONE_VARIANTS = {"swin_t": swin_t, "swin_s": swin_s, "swin_b": swin_b, "swin_l": swin_l}
"""Names accepted by :class:`SwinBackbone`, with the factory each one calls."""

STRIDES = (4, 8, 16, 32)
"""Pixels per token of the four maps (Swin's default ``patch_size=4`` and four stages)."""


class SwinBackbone(nn.Module):
    """The four stage maps of a Swin Transformer, each after its own LayerNorm.

    Args:
        variant: ``"swin_t"``, ``"swin_s"``, ``"swin_b"`` or ``"swin_l"`` (built by that
            factory of :mod:`swin_edu.model`, with ``overrides`` such as ``window_size=12`` or
            ``drop_path_rate=0.2``), or a :class:`~swin_edu.model.SwinTransformer` (e.g. a
            classifier with its ImageNet weights loaded), whose patch embedding and stages are
            *copied*: the backbone starts from its weights and trains apart from it.
        shift_rule: ``"always"`` (default): the official detection backbone and Hugging Face's
            ``SwinBackbone``; ``"official"`` keeps the classifier's rule.
        overrides: keyword arguments for the factory; not allowed with a model.

    ``forward(images)``: ``(B, in_chans, H, W)`` -> list of four ``(B, C_i, H_i, W_i)`` with
    ``C_i = C * 2^i`` and ``H_i = ceil(H / (4 * 2^i))`` (strides 4, 8, 16, 32).
    """

    def __init__(self, variant: str | SwinTransformer = "swin_t", shift_rule: str = "always",
                 **overrides) -> None:
        super().__init__()
        check_shift_rule(shift_rule)
        if isinstance(variant, SwinTransformer):
            if overrides:
                raise ValueError(f"overrides {sorted(overrides)} apply to a variant name; a "
                                 f"SwinTransformer is used as it is (build it with them instead)")
            model = copy.deepcopy(variant)
            for layer in model.layers:
                for block in layer.blocks:
                    block.shift_rule = shift_rule
        elif isinstance(variant, str) and variant in BACKBONE_VARIANTS:
            if "num_classes" in overrides:
                raise ValueError("num_classes does not apply to a backbone (it has no head)")
            model = BACKBONE_VARIANTS[variant](num_classes=0, shift_rule=shift_rule, **overrides)
        else:
            raise ArgumentTypeError(f"variant={variant!r}; expected one of "
                                    f"{sorted(BACKBONE_VARIANTS)} or a swin_edu SwinTransformer")
        if model.absolute_pos_embed is not None:
            raise ValueError("variant has ape=True; the backbone supports relative position "
                             "bias only (as every released Swin detector)")
        # what complexity.forward_memory_bytes and readers of the model expect
        for name in ("patch_size", "embed_dim", "window_size", "num_heads", "mlp_ratio",
                     "depths"):
            setattr(self, name, getattr(model, name))
        self.shift_rule = shift_rule
        self.out_channels = [model.embed_dim * 2 ** i for i in range(len(model.layers))]
        self.patch_embed = model.patch_embed
        self.pos_drop = model.pos_drop
        self.layers = model.layers
        for i, channels in enumerate(self.out_channels):
            self.add_module(f"norm{i}", nn.LayerNorm(channels))  # official names norm0..norm3

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``(B, in_chans, H, W)`` -> ``[(B, C_i, H_i, W_i)]`` for the four stages."""
        refuse_jit("SwinBackbone")
        check_rank("images", images, 4, "(B, in_chans, H, W)")
        check_floating("images", images, self.patch_embed.proj.weight)
        from swin_edu.complexity import forward_memory_bytes  # (complexity reads models)
        grad = torch.is_grad_enabled() and (images.requires_grad or any(
            p.requires_grad for p in self.parameters()))
        check_memory(f"the forward pass of images {tuple(images.shape)}",
                     forward_memory_bytes(self, images.shape[0], images.shape[2],
                                          images.shape[3], images.element_size(), grad=grad),
                     device=images.device)
        x = self.pos_drop(self.patch_embed(images))  # (B, H/4, W/4, C)
        maps = []
        for i, layer in enumerate(self.layers):
            for block in layer.blocks:
                x = block(x)
            out = getattr(self, f"norm{i}")(x)  # (B, H_i, W_i, C_i), before patch merging
            maps.append(out.permute(0, 3, 1, 2).contiguous())  # (B, C_i, H_i, W_i)
            if layer.downsample is not None:
                x = layer.downsample(x)  # (B, H_i/2, W_i/2, 2C_i)
        return maps
