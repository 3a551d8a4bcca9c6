"""How much attention costs: the paper's formulas, whole-model counts, and measured counts.

Symbols (used only inside formulas): ``h, w`` feature-map height and width, ``C`` channels,
``M`` window size. The paper counts one multiply-add as one FLOP:

    Omega(MSA)   = 4 h w C^2 + 2 (h w)^2 C      # q, k, v, output projections + QK^T and AV
    Omega(W-MSA) = 4 h w C^2 + 2 M^2 h w C      # the same, inside hw / M^2 windows

Profilers such as ``torch.utils.flop_counter.FlopCounterMode`` count a multiply-add as two
FLOPs, so their numbers are twice the paper's (:func:`measured_flops` divides by two).

Taught in notebooks/06_complexity.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from swin_edu._checks import (ArgumentTypeError, check_bool, check_int, check_module, check_positive,
                              check_swin, image_pair)

__all__ = ["msa_flops", "wmsa_flops", "model_flops", "measured_flops", "count_parameters",
           "largest_activation_bytes", "forward_memory_bytes"]


def msa_flops(h: int, w: int, C: int) -> int:
    """Global multi-head self-attention on an ``h x w`` map: ``4hwC^2 + 2(hw)^2 C``."""
    h, w, C = (check_positive(name, value) for name, value in (("h", h), ("w", w), ("C", C)))
    return 4 * h * w * C ** 2 + 2 * (h * w) ** 2 * C


def wmsa_flops(h: int, w: int, C: int, M: int) -> int:
    """Window attention with ``M x M`` windows: ``4hwC^2 + 2M^2 hwC``.

    Exact when ``M`` divides ``h`` and ``w``; otherwise it is the cost before padding.
    """
    h, w, C, M = (check_positive(name, value) for name, value in
                  (("h", h), ("w", w), ("C", C), ("M", M)))
    return 4 * h * w * C ** 2 + 2 * M ** 2 * h * w * C


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or frozen), as Table 1 and timm report them."""
    check_module("model", model)
    return sum(p.numel() for p in model.parameters())


def _block_flops(h: int, w: int, dim: int, window_size: int, mlp_ratio: float) -> int:
    padded_h = math.ceil(h / window_size) * window_size
    padded_w = math.ceil(w / window_size) * window_size
    attention = wmsa_flops(padded_h, padded_w, dim, window_size)
    mlp = 2 * h * w * dim * int(dim * mlp_ratio)
    norms = 2 * h * w * dim
    return attention + mlp + norms


def model_flops(model: nn.Module, image_size: int | tuple[int, int] = 224) -> int:
    """FLOPs of a :class:`~swin_edu.model.SwinTransformer` forward pass, paper convention.

    Counts as the official repository's ``flops()`` methods do (one multiply-add = one FLOP;
    linear layers, convolutions, ``QK^T`` and ``AV``, plus one per element for LayerNorms;
    softmax, GELU and additions not counted), except for the final LayerNorm, which the
    official code counts on 4x too many tokens (0.0001 G for Swin-T). Windows are counted on
    the padded map, the work actually done.
    """
    check_swin("model", model)
    H, W = image_pair(image_size)
    patch, dim = model.patch_size, model.embed_dim
    h, w = math.ceil(H / patch), math.ceil(W / patch)
    in_chans = model.patch_embed.proj.in_channels
    flops = h * w * dim * in_chans * patch * patch + h * w * dim  # conv + norm
    for i, layer in enumerate(model.layers):
        flops += len(layer.blocks) * _block_flops(h, w, dim, model.window_size, model.mlp_ratio)
        if layer.downsample is not None:
            h, w = math.ceil(h / 2), math.ceil(w / 2)
            flops += h * w * 4 * dim + h * w * 4 * dim * 2 * dim  # norm + reduction
            dim *= 2
    flops += h * w * dim  # final norm
    if isinstance(model.head, nn.Linear):
        flops += dim * model.head.out_features
    return flops


def measured_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Count FLOPs of ``module(*inputs)`` with ``FlopCounterMode``, in the paper's convention.

    ``FlopCounterMode`` counts matrix products and convolutions at two FLOPs per multiply-add;
    the result is halved here to compare with :func:`model_flops`. PyTorch's fused CPU
    attention kernel is invisible to the counter, so attention runs on the math backend
    (plain matmuls) while counting. Norms, softmax and activations are not counted.
    """
    if not callable(module):
        raise ArgumentTypeError(f"module must be an nn.Module or a function of the inputs, got "
                                f"{type(module).__name__}")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        module(*inputs)
    return counter.get_total_flops() // 2


def largest_activation_bytes(model: nn.Module, batch_size: int, H: int, W: int,
                             element_size: int = 4) -> int:
    """Bytes of the largest single tensor a forward pass of ``(batch_size, C_in, H, W)``
    builds: the MLP hidden layer ``(B, h, w, mlp_ratio * C)``, the fused ``qkv``
    ``(B, h', w', 3C)`` or the attention bias ``(B * nW, heads, M^2, M^2)``, at each stage
    (``h', w'`` padded to whole windows). The whole forward pass needs several times this:
    see :func:`forward_memory_bytes`, what the model's memory guard uses.
    """
    check_swin("model", model)
    B = check_int("batch_size", batch_size, low=0)
    H, W = check_positive("H", H), check_positive("W", W)
    M, dim = model.window_size, model.embed_dim
    h, w = math.ceil(H / model.patch_size), math.ceil(W / model.patch_size)
    largest = B * model.patch_embed.proj.in_channels * H * W
    for i, heads in enumerate(model.num_heads):
        hp, wp = math.ceil(h / M) * M, math.ceil(w / M) * M
        largest = max(largest, B * h * w * int(dim * model.mlp_ratio), B * hp * wp * 3 * dim,
                      B * hp * wp * heads * M * M, B * h * w * 4 * dim)
        h, w, dim = math.ceil(h / 2), math.ceil(w / 2), dim * 2
    return largest * element_size


def forward_memory_bytes(model: nn.Module, batch_size: int, H: int, W: int,
                         element_size: int = 4, grad: bool = False) -> int:
    """Estimated peak memory (bytes) a forward pass of ``(batch_size, C_in, H, W)`` images adds,
    counted tensor by tensor from what the code keeps alive; what the model's memory guard
    compares with the limit (``swin_edu.memory``).

    In a block, with ``T`` tokens, ``T'`` padded tokens, ``C`` channels, ``heads`` and
    ``N = M^2``: during attention the block's input and its norm, the padded, rolled and
    partitioned maps, ``qkv``, the contiguous ``q, k, v`` the kernel is handed and its output
    (``2TC + 10T'C``), plus the bias with the mask, repeated per image (``2 T' heads N``);
    during the MLP the input, the residual, the norm and two hidden layers (``3TC +
    2T hidden``). Without gradients the peak is the largest of these over the stages. With
    gradients (``grad=True``) every block also keeps what autograd saves for the backward
    pass (norm and linear inputs, the GELU's input and output, ``q, k, v`` and the attention
    weights ``T' heads N``: PyTorch runs attention with a learnable bias on its math
    backend), summed over all blocks. Measured against the process's resident memory in
    ``tests/test_memory.py``: within a factor of two.
    """
    check_swin("model", model)
    B = check_int("batch_size", batch_size, low=0)
    H, W = check_positive("H", H), check_positive("W", W)
    element_size = check_positive("element_size", element_size)
    grad = check_bool("grad", grad)
    M, dim = model.window_size, model.embed_dim
    h, w = math.ceil(H / model.patch_size), math.ceil(W / model.patch_size)
    depths = getattr(model, "depths", None) or tuple(len(layer.blocks) for layer in model.layers)
    peak = 3 * B * h * w * dim + B * model.patch_embed.proj.in_channels * H * W  # embedding
    saved = 0
    for i, (heads, depth) in enumerate(zip(model.num_heads, depths)):
        T = B * h * w
        Tp = B * math.ceil(h / M) * M * math.ceil(w / M) * M
        hidden = int(dim * model.mlp_ratio)
        attention = 2 * T * dim + 10 * Tp * dim + 2 * Tp * heads * M * M
        mlp = 3 * T * dim + 2 * T * hidden
        peak = max(peak, saved + attention, saved + mlp)
        if grad:
            saved += depth * (3 * T * dim + 2 * T * hidden + 5 * Tp * dim + 2 * Tp * heads * M * M)
        if i < len(model.num_heads) - 1:
            h, w = math.ceil(h / 2), math.ceil(w / 2)
            if grad:
                saved += 2 * B * h * w * 4 * dim  # the merging's norm and linear inputs
            peak = max(peak, saved + 3 * B * h * w * 4 * dim)
            dim *= 2
    return max(peak, saved) * element_size
