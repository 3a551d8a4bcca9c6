"""Swin V2: activations through the residual stream, the log-spaced coordinates, bias transfer.

Data functions return what the figures draw (tests and notebooks compare them with the
package); ``draw_*`` functions return a Figure and keep no pyplot state.

- :func:`residual_stream_rms` and :func:`activation_growth`: the size of the residual stream
  after each block of a V1 and a V2 network of the same shape, with the branch weights as
  initialised and grown (:func:`grow_branch_weights`); :func:`draw_activation_growth`.
- :func:`cpb_coords`: one axis of the offsets, linear and log-spaced, and the bias a fixed
  position MLP (:func:`demo_cpb_mlp`) gives them; :func:`draw_cpb_coords` (and the explorer
  :class:`swin_edu.widgets.CpbExplorer`).
- :func:`bias_transfer`: moving to a larger window, V1's bicubic table resize against V2's MLP
  evaluated at the new offsets; :func:`draw_bias_transfer`.

Taught in notebooks/11_swin_v2.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from torch import nn

from swin_edu._checks import ArgumentTypeError, check_int, check_module, check_positive, check_rank
from swin_edu.convert import resize_relative_position_bias_table
from swin_edu.model import SwinTransformer, SwinTransformerBlock
from swin_edu.v2 import (CPB_HIDDEN, SwinTransformerV2, SwinTransformerV2Block,
                         log_spaced_coords)
from swin_edu.viz._style import new_figure

__all__ = ["GROWTH_CONFIG", "grow_branch_weights", "residual_stream_rms", "activation_growth",
           "draw_activation_growth", "demo_cpb_mlp", "cpb_bias", "cpb_coords",
           "draw_cpb_coords", "cpb_panels_on", "bias_transfer", "draw_bias_transfer",
           "BIAS_NORM"]

GROWTH_CONFIG = dict(img_size=8, patch_size=1, in_chans=1, num_classes=10, embed_dim=32,
                     depths=(12,), num_heads=(2,), window_size=4, mlp_ratio=2.0,
                     drop_path_rate=0.0)
"""One stage of 12 blocks on the course's 8x8 digits (patch 1: 64 tokens, four 4x4 windows)."""

BIAS_NORM = Normalize(0.0, 16.0)
"""V2's bias ``16 * sigmoid(...)`` lies in ``(0, 16)``: one colour scale for every picture."""


# ------------------------------------------------------------------ activations with depth

def _blocks(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules()
            if isinstance(m, (SwinTransformerBlock, SwinTransformerV2Block))]


def grow_branch_weights(model: nn.Module, factor: float) -> nn.Module:
    """Multiply every Linear weight inside the blocks by ``factor`` (in place), as long
    training grows them; V2 blocks also get ``norm1``/``norm2`` weights of 1 (V2 initialises
    them to 0, which makes each block the identity). Returns ``model``."""
    check_module("model", model)
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
        raise ArgumentTypeError(f"factor={factor!r} must be a positive number")
    with torch.no_grad():
        for block in _blocks(model):
            for module in block.modules():
                if isinstance(module, nn.Linear):
                    module.weight.mul_(factor)
            if isinstance(block, SwinTransformerV2Block):
                block.norm1.weight.fill_(1.0)
                block.norm2.weight.fill_(1.0)
    return model


def residual_stream_rms(model: nn.Module, images: torch.Tensor) -> list[float]:
    """Root mean square of the residual stream after each block: ``sqrt(mean(x^2))`` over the
    batch, the tokens and the channels of every block's output, in eval mode."""
    check_module("model", model)
    check_rank("images", images, 4, "(B, in_chans, H, W)")
    sizes: list[float] = []
    hooks = [block.register_forward_hook(
        lambda _module, _inputs, out: sizes.append(out.pow(2).mean().sqrt().item()))
        for block in _blocks(model)]
    if not hooks:
        raise ValueError(f"model ({type(model).__name__}) has no Swin blocks to measure")
    model.eval()
    try:
        with torch.no_grad():
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def activation_growth(images: torch.Tensor, factors: tuple[float, ...] = (1.0, 30.0),
                      seed: int = 0, **config) -> dict[tuple[str, float], list[float]]:
    """``(version, factor) -> residual_stream_rms`` for a V1 and a V2 network of the same shape
    (:data:`GROWTH_CONFIG`, updated by ``config``), each built from ``seed`` and then grown by
    each factor (:func:`grow_branch_weights`). The global random state is left as it was."""
    seed = check_int("seed", seed, low=0)
    config = {**GROWTH_CONFIG, **config}
    curves = {}
    for version, cls in (("V1", SwinTransformer), ("V2", SwinTransformerV2)):
        for factor in factors:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = grow_branch_weights(cls(**config), factor)
            curves[(version, factor)] = residual_stream_rms(model, images)
    return curves


def draw_activation_growth(curves: dict[tuple[str, float], list[float]],
                           title: str | None = None) -> Figure:
    """One line per ``(version, factor)``: residual-stream RMS after each block, log scale."""
    if not curves:
        raise ValueError("curves is empty; pass activation_growth(...)")
    fig = new_figure(7.0, 3.6)
    ax = fig.subplots()
    colours = {"V1": "#d62828", "V2": "#1d6fb8"}
    factors = sorted({factor for _, factor in curves})
    styles = ["o-", "s--", "^:", "d-."]
    for (version, factor), sizes in curves.items():
        style = styles[factors.index(factor) % len(styles)]
        ax.plot(range(1, len(sizes) + 1), sizes, style, ms=4, color=colours.get(version, "k"),
                label=f"{version}, branch weights x{factor:g}")
    ax.set_yscale("log")
    ax.set_xlabel("block")
    ax.set_ylabel("RMS of the residual stream")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title or "V1 pre-norm vs V2 residual post-norm, same shape, same seed",
                 fontsize=10)
    return fig


# ------------------------------------------------------------------ log-spaced coordinates

def _target_logits(coords: torch.Tensor) -> torch.Tensor:
    """A bias that falls with distance and leans to one side, as a learned one often does,
    written in the MLP's output units (before ``16 * sigmoid``)."""
    radius = coords.pow(2).sum(-1).sqrt()
    return (2.5 - 3.0 * radius + 0.8 * coords[:, 1])[:, None]


@lru_cache(maxsize=4)
def _demo_weights(pretrained_window_size: int, seed: int) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode(False):
        g = torch.Generator().manual_seed(seed)
        w1 = torch.randn(CPB_HIDDEN, 2, generator=g, dtype=torch.float64) * 2.0
        b1 = torch.rand(CPB_HIDDEN, generator=g, dtype=torch.float64) * 4.0 - 2.0
        coords = log_spaced_coords(pretrained_window_size).double()
        features = torch.relu(coords @ w1.T + b1)  # ((2M-1)^2, hidden)
        target = _target_logits(coords)
        # ridge regression for the last layer: closed form, the same weights on every machine
        gram = features.T @ features + 1e-3 * torch.eye(CPB_HIDDEN, dtype=torch.float64)
        w2 = torch.linalg.solve(gram, features.T @ target).T  # (1, hidden)
        return w1.float(), b1.float(), w2.float()


def demo_cpb_mlp(pretrained_window_size: int = 8, seed: int = 0) -> nn.Sequential:
    """A ``cpb_mlp`` (Linear(2, 512), ReLU, Linear(512, 1)) whose bias falls with distance,
    fitted at ``pretrained_window_size`` (its offsets only: beyond them it extrapolates).

    The first layer is random (``seed``), the last solved by ridge regression, so the same
    weights come out everywhere without training; it stands in for a trained head's MLP.
    """
    pretrained_window_size = check_positive("pretrained_window_size", pretrained_window_size)
    seed = check_int("seed", seed, low=0)
    w1, b1, w2 = _demo_weights(pretrained_window_size, seed)
    mlp = nn.Sequential(nn.Linear(2, CPB_HIDDEN), nn.ReLU(),
                        nn.Linear(CPB_HIDDEN, 1, bias=False))
    with torch.no_grad():
        mlp[0].weight.copy_(w1)
        mlp[0].bias.copy_(b1)
        mlp[2].weight.copy_(w2)
    return mlp


def cpb_bias(mlp: nn.Module, window_size: int, pretrained_window_size: int = 0,
             head: int = 0) -> np.ndarray:
    """``(2M-1, 2M-1)``: ``16 * sigmoid(mlp(log_spaced_coords(M, M_pre)))`` of one head, laid
    out by offset (row ``dy + M - 1``, column ``dx + M - 1``)."""
    check_module("mlp", mlp)
    coords = log_spaced_coords(window_size, pretrained_window_size)
    with torch.no_grad():
        table = 16 * torch.sigmoid(mlp(coords))  # ((2M-1)^2, heads)
    head = check_int("head", head, 0, table.shape[1] - 1)
    side = 2 * window_size - 1
    return table[:, head].view(side, side).numpy()


def cpb_coords(window_size: int, pretrained_window_size: int = 0,
               mlp: nn.Module | None = None) -> dict[str, np.ndarray | float]:
    """One axis of the offsets, ``d = -(M-1) .. M-1``, and what V2 makes of them.

    Returns:
        ``offsets`` ``(2M-1,)``; ``linear`` ``(2M-1,)``, ``d / (M_n - 1)`` with ``M_n`` the
        normalising window (``M_pre``, or ``M`` when 0): 1 at the normalising window's edge;
        ``log`` ``(2M-1,)``, the log-spaced coordinate ``sign(8t) log2(1 + |8t|) / 3``
        (a column of :func:`swin_edu.v2.log_spaced_coords`); ``edge``, the log-spaced value of
        the normalising window's edge, ``log2(9) / 3``; ``bias`` ``(2M-1, 2M-1)``,
        :func:`cpb_bias` of ``mlp`` (default :func:`demo_cpb_mlp`).
    Raises:
        ValueError: ``pretrained_window_size == 1``: a 1x1 window has no offset to divide by.
    """
    window_size = check_positive("window_size", window_size)
    pretrained_window_size = check_int("pretrained_window_size", pretrained_window_size, low=0)
    if pretrained_window_size == 1:
        raise ValueError("pretrained_window_size=1: a 1x1 pre-training window has no offset to "
                         "normalise by (M_pre - 1 = 0; the official code would divide by "
                         "zero). Choose 0 (normalise by the window itself) or 2 or more")
    norm = pretrained_window_size or window_size
    offsets = np.arange(-(window_size - 1), window_size)
    linear = offsets / (norm - 1) if norm > 1 else offsets.astype(float)
    side = 2 * window_size - 1
    coords = log_spaced_coords(window_size, pretrained_window_size)
    log = coords[:side, 1].numpy()  # the row dy = -(M-1): its dx column runs over every offset
    mlp = demo_cpb_mlp() if mlp is None else mlp
    return {"offsets": offsets, "linear": linear, "log": log,
            "edge": math.log2(9) / 3, "bias": cpb_bias(mlp, window_size, pretrained_window_size)}


def cpb_panels_on(left: Axes, right: Axes, data: dict, window_size: int,
                  pretrained_window_size: int) -> None:
    """Draw :func:`draw_cpb_coords`'s two panels (``data`` from :func:`cpb_coords`)."""
    M = window_size
    norm = pretrained_window_size or M
    left.plot(data["offsets"], data["linear"], "o-", ms=3, color="#8d99ae",
              label="linear: d / (M_n - 1)")
    left.plot(data["offsets"], data["log"], "o-", ms=3, color="#1d6fb8",
              label="log-spaced (what cpb_mlp reads)")
    for sign in (-1, 1):
        left.axhline(sign * data["edge"], color="#1d6fb8", lw=0.8, ls="--")
        left.axvline(sign * (norm - 1), color="#8d99ae", lw=0.8, ls=":")
    left.set_xlabel(f"offset d (window M={M}; normalised by M_n={norm})", fontsize=8)
    left.set_ylabel("coordinate", fontsize=8)
    left.legend(fontsize=7, loc="upper left")
    left.grid(alpha=0.3)
    left.set_title("one axis of the relative offsets", fontsize=9)
    extent = (-(M - 0.5), M - 0.5, M - 0.5, -(M - 0.5))
    right.imshow(data["bias"], cmap="viridis", norm=BIAS_NORM, extent=extent,
                 interpolation="nearest")
    if pretrained_window_size and pretrained_window_size < M:
        p = pretrained_window_size - 0.5
        right.plot([-p, p, p, -p, -p], [-p, -p, p, p, -p], color="white", lw=1.2, ls="--")
    right.set_xlabel("dx", fontsize=8)
    right.set_ylabel("dy", fontsize=8)
    right.set_title(f"16 sigmoid(cpb_mlp(coords)), {2 * M - 1}x{2 * M - 1} offsets", fontsize=9)


def draw_cpb_coords(window_size: int = 8, pretrained_window_size: int = 0,
                    mlp: nn.Module | None = None) -> Figure:
    """Left: linear vs log-spaced coordinates along one axis; right: the bias they produce
    (dashed square: the pre-training window when it is smaller than ``M``)."""
    data = cpb_coords(window_size, pretrained_window_size, mlp)
    fig = new_figure(10.0, 4.0)
    left, right = fig.subplots(1, 2)
    cpb_panels_on(left, right, data, window_size, pretrained_window_size)
    fig.colorbar(ScalarMappable(BIAS_NORM, "viridis"), ax=right, shrink=0.8)
    return fig


# ------------------------------------------------------------------ a larger window

def bias_transfer(window_size: int = 8, new_window_size: int = 24,
                  mlp: nn.Module | None = None) -> dict[str, np.ndarray]:
    """A head's bias at ``window_size`` carried to ``new_window_size`` two ways.

    Returns:
        ``before`` ``(2M-1, 2M-1)``: :func:`cpb_bias` at ``M``; ``v1`` ``(2M'-1, 2M'-1)``:
        that table resized as V1 does it (bicubic,
        :func:`swin_edu.convert.resize_relative_position_bias_table`); ``v2``: the MLP
        evaluated at the new window's offsets, normalised by the old window
        (``pretrained_window_size = M``).
    """
    window_size = check_positive("window_size", window_size)
    new_window_size = check_positive("new_window_size", new_window_size)
    mlp = demo_cpb_mlp(window_size) if mlp is None else mlp
    before = cpb_bias(mlp, window_size, window_size)
    table = torch.from_numpy(before).reshape(-1, 1)  # ((2M-1)^2, 1): a V1 table of one head
    side = 2 * new_window_size - 1
    v1 = resize_relative_position_bias_table(table, new_window_size).view(side, side).numpy()
    return {"before": before, "v1": v1, "v2": cpb_bias(mlp, new_window_size, window_size)}


def draw_bias_transfer(window_size: int = 8, new_window_size: int = 24,
                       mlp: nn.Module | None = None) -> Figure:
    """Three heatmaps on one colour scale and one offset scale: the bias at ``M``, V1's
    bicubic resize to ``M'``, V2's MLP at ``M'`` (dashed: the old window's offsets)."""
    data = bias_transfer(window_size, new_window_size, mlp)
    fig = new_figure(10.0, 3.7)
    axes = fig.subplots(1, 3)
    M, N = window_size, new_window_size
    titles = (f"window {M}: the bias it learned", f"V1: table resized (bicubic) to {N}",
              f"V2: cpb_mlp at window {N}'s offsets")
    for ax, key, title, side in zip(axes, ("before", "v1", "v2"), titles, (M, N, N)):
        ax.imshow(data[key], cmap="viridis", norm=BIAS_NORM, interpolation="nearest",
                  extent=(-(side - 0.5), side - 0.5, side - 0.5, -(side - 0.5)))
        ax.set_xlim(-(N - 0.5), N - 0.5)
        ax.set_ylim(N - 0.5, -(N - 0.5))
        p = M - 0.5
        ax.plot([-p, p, p, -p, -p], [-p, -p, p, p, -p], color="white", lw=1.0, ls="--")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("dx", fontsize=8)
    axes[0].set_ylabel("dy", fontsize=8)
    fig.colorbar(ScalarMappable(BIAS_NORM, "viridis"), ax=axes, shrink=0.8)
    return fig
