"""Regenerate the static figure gallery: ``python -m swin_edu.figures [--out DIR]``.

Every figure is drawn by ``swin_edu.viz`` from tensors the package computes, including the
seed walkthrough's illustrations (patch merging on 8x8, window partition, the roll, the mask
regions and the four 4x4 masks for window 2 / shift 1, the window-2 relative index, MSA vs
W-MSA), and the paper's pictures: ViT vs Swin's hierarchy (Fig. 1), a W-MSA/SW-MSA block
pair (Fig. 3b) and the receptive field growing through the stages (by autograd through a
seeded small model); Swin V2's residual stream, log-spaced coordinates and bias transfer. Output is deterministic: same files, byte for byte, on every run with
the same matplotlib (PNG metadata without timestamps, fixed SVG hash salt, seeded weights).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import matplotlib
import torch
from matplotlib.figure import Figure

from swin_edu import viz
from swin_edu.attention import WindowAttention
from swin_edu.complexity import measured_flops, msa_flops, wmsa_flops

__all__ = ["FIGURES", "SVG_FIGURES", "DPI", "generate", "main"]

DPI = 100


def _formula_vs_measured(C: int = 96, M: int = 7, num_heads: int = 3,
                         sides: tuple[int, ...] = (14, 28, 42)) -> Figure:
    """Paper formulas vs ``FlopCounterMode`` for W-MSA and MSA on ``h = w`` maps.

    MSA is window attention with a single window covering the map (``M = h``); the bias it
    adds is an addition, which neither the formula nor the counter counts.
    """
    torch.manual_seed(0)
    labels, formula, measured = [], [], []
    for side in sides:
        windows = torch.zeros((side // M) ** 2, M * M, C)  # (nW, M*M, C)
        labels.append(f"W-MSA {side}x{side}")
        formula.append(wmsa_flops(side, side, C, M))
        measured.append(measured_flops(WindowAttention(C, M, num_heads), windows))
        labels.append(f"MSA {side}x{side}")
        formula.append(msa_flops(side, side, C))
        measured.append(measured_flops(WindowAttention(C, side, num_heads),
                                       torch.zeros(1, side * side, C)))
    return viz.draw_formula_vs_measured(
        labels, formula, measured,
        title=f"paper formula vs FlopCounterMode (C={C}, M={M}); x = measured / formula")


def _activation_growth() -> Figure:
    """Residual-stream RMS per block, V1 vs V2 (notebook 11), on the first 256 test digits."""
    from swin_edu.experiments import digits_split

    images = digits_split().x_test[:256]
    return viz.draw_activation_growth(viz.activation_growth(images, factors=(1.0, 30.0)))


FIGURES: dict[str, Callable[[], Figure]] = {
    "patch_partition": lambda: viz.draw_patch_partition(8, 8, patch_size=4),
    "patch_merging_8x8": lambda: viz.draw_patch_merging(8, 8),
    "window_partition_8x8": lambda: viz.draw_window_partition(8, 8, window_size=4),
    "cyclic_shift_8x8": lambda: viz.draw_cyclic_shift(8, 8, window_size=4, shift_size=2),
    "cyclic_shift_4x4": lambda: viz.draw_cyclic_shift(4, 4, window_size=2, shift_size=1),
    "region_labels_4x4": lambda: viz.draw_region_labels(4, 4, window_size=2, shift_size=1),
    "masks_4x4": lambda: viz.draw_mask_grid(4, 4, window_size=2, shift_size=1),
    "masks_8x8": lambda: viz.draw_mask_grid(8, 8, window_size=4, shift_size=2),
    "window_mask_8x8": lambda: viz.draw_window_mask(8, 8, window_size=4, shift_size=2,
                                                    window=3, query=5),
    "token_reach": lambda: viz.draw_token_reach(8, 8, window_size=4, shift_size=2,
                                                query=(7, 7)),
    "relative_position_m2": lambda: viz.draw_relative_position(2),
    "relative_position_m3": lambda: viz.draw_relative_position(3),
    "bias_row_m3": lambda: viz.draw_bias_row(3, query=0),
    "complexity": lambda: viz.draw_complexity(C=96, M=7),
    "formula_vs_measured": _formula_vs_measured,
    "architecture_swin_t_224": lambda: viz.draw_architecture("T", 224),
    "hierarchy_vit_vs_swin": lambda: viz.draw_hierarchy("T", 224),
    "block_pair": lambda: viz.draw_block_pair(map_size=(56, 56), variant="T"),
    "receptive_field": lambda: viz.draw_receptive_field(128, pixel=(45, 70), seed=0),
    "v2_activation_growth": _activation_growth,
    "v2_cpb_coords": lambda: viz.draw_cpb_coords(24, pretrained_window_size=8),
    "v2_bias_transfer": lambda: viz.draw_bias_transfer(8, 24),
}
# Line plots scale well as vectors; grids of cells are smaller and crisper as PNG.
SVG_FIGURES = ("complexity",)


def generate(out_dir: str | Path = "figures", names: list[str] | None = None) -> list[Path]:
    """Draw the figures (all, or ``names``) into ``out_dir``; returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(names or []) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; choose from {sorted(FIGURES)}")
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "swin-edu", "svg.fonttype": "path"}):
        for name in names or list(FIGURES):
            fig = FIGURES[name]()
            path = out / f"{name}.png"
            fig.savefig(path, dpi=DPI, metadata={"Software": None})
            written.append(path)
            if name in SVG_FIGURES:
                path = out / f"{name}.svg"
                fig.savefig(path, metadata={"Date": None, "Creator": None})
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")
    parser.add_argument("names", nargs="*", help=f"figures to draw (default: all of "
                                                 f"{', '.join(FIGURES)})")
    args = parser.parse_args(argv)
    for path in generate(args.out, args.names or None):
        print(path)


if __name__ == "__main__":
    main()
