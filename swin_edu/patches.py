"""Patch partition + linear embedding (``PatchEmbed``) and downsampling (``PatchMerging``).

Patch partition cuts a ``(B, 3, H, W)`` image into ``4 x 4`` patches, each flattened to
``4 * 4 * 3 = 48`` numbers (the paper's "48"); the linear embedding maps 48 -> ``C``
(``C = 96`` for Swin-T, the code's "96"). A ``Conv2d`` with kernel = stride = 4 does both at
once, which is how the official code writes it.

Patch merging takes every 2 x 2 neighbourhood, concatenates its four tokens in the order
``x0 = (0, 0), x1 = (1, 0), x2 = (0, 1), x3 = (1, 1)`` (row offset first!), normalises the
``4C`` vector and maps it to ``2C`` with a bias-free Linear.

Taught in notebooks/01_patch_partition and notebooks/02_patch_merging.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from swin_edu._checks import (NotScriptable, check_bool, check_floating, check_memory,
                              check_positive, check_rank, refuse_jit)
from swin_edu.memory import default_element_size

__all__ = ["PatchEmbed", "PatchMerging", "patch_partition", "merge_patches"]


def patch_partition(images: torch.Tensor, patch_size: int = 4) -> torch.Tensor:
    """Cut images into flattened patches.

    Args:
        images: ``(B, C_in, H, W)`` with ``H`` and ``W`` multiples of ``patch_size``.
    Returns:
        ``(B, H/p, W/p, p*p*C_in)``; each patch is flattened as ``(C_in, p, p)``, the order in
        which a Conv2d weight ``(C, C_in, p, p)`` reads it.
    """
    refuse_jit("patch_partition")
    check_rank("images", images, 4, "(B, C_in, H, W)")
    patch_size = check_positive("patch_size", patch_size)
    H, W = images.shape[-2:]
    for name, size in (("H", H), ("W", W)):
        if size % patch_size:
            raise ValueError(f"{name}={size} is not divisible by patch_size={patch_size}; pad "
                             f"the image to {-(-size // patch_size) * patch_size}")
    return rearrange(images, "b c (h p1) (w p2) -> b h w (c p1 p2)", p1=patch_size, p2=patch_size)


def merge_patches(x: torch.Tensor) -> torch.Tensor:
    """Concatenate each 2 x 2 neighbourhood's tokens in the official order x0, x1, x2, x3.

    Args:
        x: ``(B, H, W, C)`` with ``H`` and ``W`` even.
    Returns:
        ``(B, H/2, W/2, 4C)``; channels ``[0:C]`` from ``(2i, 2j)``, ``[C:2C]`` from
        ``(2i+1, 2j)``, ``[2C:3C]`` from ``(2i, 2j+1)``, ``[3C:4C]`` from ``(2i+1, 2j+1)``.
    """
    refuse_jit("merge_patches")
    check_rank("x", x, 4, "(B, H, W, C)")
    H, W = x.shape[1:3]
    if H % 2 or W % 2:
        raise ValueError(f"feature map {H}x{W} must have even sides for patch merging; pad it "
                         f"to {H + H % 2}x{W + W % 2}")
    x0 = x[:, 0::2, 0::2, :]  # (B, H/2, W/2, C) even row, even column
    x1 = x[:, 1::2, 0::2, :]  # odd row, even column
    x2 = x[:, 0::2, 1::2, :]  # even row, odd column
    x3 = x[:, 1::2, 1::2, :]  # odd row, odd column
    return torch.cat([x0, x1, x2, x3], dim=-1)  # (B, H/2, W/2, 4C)


def patch_embed_bytes(patch_size: int, in_chans: int, embed_dim: int) -> int:
    """Bytes of a :class:`PatchEmbed`'s parameters (convolution and LayerNorm)."""
    return (embed_dim * in_chans * patch_size ** 2 + 3 * embed_dim) * default_element_size()


def patch_merging_bytes(dim: int) -> int:
    """Bytes of a :class:`PatchMerging`'s parameters (LayerNorm 4C, Linear 4C -> 2C)."""
    return (8 * dim + 8 * dim * dim) * default_element_size()


class PatchEmbed(NotScriptable, nn.Module):
    """Patch partition + linear embedding as one strided convolution.

    ``(B, C_in, H, W)`` -> ``(B, H/p, W/p, C)``. Images whose sides are not multiples of
    ``patch_size`` are zero-padded at the bottom/right first, as the reference
    implementations do.
    """

    def __init__(self, patch_size: int = 4, in_chans: int = 3, embed_dim: int = 96,
                 patch_norm: bool = True) -> None:
        super().__init__()
        patch_size, in_chans, embed_dim = (
            check_positive(name, value) for name, value in
            (("patch_size", patch_size), ("in_chans", in_chans), ("embed_dim", embed_dim)))
        check_bool("patch_norm", patch_norm)
        check_memory(f"PatchEmbed(patch_size={patch_size}, in_chans={in_chans}, "
                     f"embed_dim={embed_dim}) (its weights)",
                     patch_embed_bytes(patch_size, in_chans, embed_dim))
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if patch_norm else nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        refuse_jit("PatchEmbed")
        check_rank("images", images, 4, "(B, C_in, H, W)")
        check_floating("images", images, self.proj.weight)
        if images.shape[1] != self.proj.in_channels:
            raise ValueError(f"images has {images.shape[1]} channels; expected in_chans="
                             f"{self.proj.in_channels}")
        pad_h = (-images.shape[2]) % self.patch_size
        pad_w = (-images.shape[3]) % self.patch_size
        if pad_h or pad_w:
            images = F.pad(images, (0, pad_w, 0, pad_h))
        x = self.proj(images)  # (B, C, H/p, W/p)
        x = x.permute(0, 2, 3, 1)  # (B, H/p, W/p, C) channels-last
        return self.norm(x)


class PatchMerging(NotScriptable, nn.Module):
    """Halve the resolution and double the channels: ``(B, H, W, C)`` -> ``(B, H/2, W/2, 2C)``.

    Odd sides are zero-padded at the bottom/right first (as torchvision and Hugging Face do).
    Parameter names match the official code: ``norm`` (LayerNorm 4C), ``reduction``
    (Linear 4C -> 2C, no bias).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        dim = check_positive("dim", dim)
        check_memory(f"PatchMerging(dim={dim}) (its weights)", patch_merging_bytes(dim))
        self.dim = dim
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        refuse_jit("PatchMerging")
        check_rank("x", x, 4, "(B, H, W, C)")
        check_floating("x", x, self.reduction.weight)
        if x.shape[-1] != self.dim:
            raise ValueError(f"x has {x.shape[-1]} channels; expected dim={self.dim}")
        H, W = x.shape[1:3]
        if H % 2 or W % 2:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        return self.reduction(self.norm(merge_patches(x)))  # (B, H/2, W/2, 2C)
