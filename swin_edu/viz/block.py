"""Two successive Swin blocks, W-MSA then SW-MSA (paper Fig. 3b), labelled from a real stage.

Taught in notebooks/07_swin_transformer.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from swin_edu.model import VARIANTS, BasicLayer, SwinTransformerBlock, effective_shift
from swin_edu.viz._style import REGION_COLOURS, new_figure

__all__ = ["draw_block_pair", "block_labels"]

_COLOURS = {"LN": REGION_COLOURS[7], "W-MSA": REGION_COLOURS[5], "SW-MSA": REGION_COLOURS[3],
            "MLP": REGION_COLOURS[4]}
_BOX_W, _BOX_H, _GAP, _PLUS_R = 1.7, 1.0, 0.45, 0.17


def block_labels(block: SwinTransformerBlock, map_size: tuple[int, int]) -> dict[str, str]:
    """Box labels for one block, read off the module: its LayerNorm width, attention kind,
    window, the shift it applies on a ``map_size`` map (``effective_shift``), heads, MLP sizes.
    """
    h, w = map_size
    ws = block.window_size
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    shift = effective_shift(hp, wp, ws, block.shift_size, block.shift_rule)
    kind = "SW-MSA" if any(shift) else "W-MSA"
    dim = block.norm1.normalized_shape[0]
    shift_text = f"shift {shift[0]}" if shift[0] == shift[1] else f"shift {shift}"
    return {
        "kind": kind,
        "LN": f"LayerNorm\nC={dim}",
        "attention": f"{kind}\n{ws}x{ws} windows\n{shift_text}, {block.attn.num_heads} heads",
        "MLP": f"MLP, GELU\n{block.mlp.fc1.in_features}->{block.mlp.fc1.out_features}"
               f"->{block.mlp.fc2.out_features}",
    }


def _box(ax: Axes, x: float, y: float, text: str, colour: str) -> None:
    ax.add_patch(FancyBboxPatch((x, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                boxstyle="round,pad=0.03", facecolor=colour,
                                edgecolor="#343a40"))
    ax.text(x + _BOX_W / 2, y, text, ha="center", va="center", fontsize=8)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float],
           connection: str = "arc3") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11,
                                 color="#343a40", linewidth=1.2, connectionstyle=connection,
                                 shrinkA=0, shrinkB=0))


def _plus(ax: Axes, x: float, y: float) -> None:
    ax.add_patch(Circle((x, y), _PLUS_R, facecolor="white", edgecolor="#343a40", linewidth=1.2))
    ax.text(x, y, "+", ha="center", va="center", fontsize=11)


def _skip(ax: Axes, x0: float, x1: float, y: float) -> None:
    """The residual path: from a split point at ``x0`` over the boxes into the + at ``x1``."""
    top = y + 0.8
    ax.plot([x0, x0, x1], [y, top, top], color="#343a40", linewidth=1.2,
            solid_joinstyle="miter")
    ax.plot([x0], [y], "o", color="#343a40", markersize=4)
    _arrow(ax, (x1, top), (x1, y + _PLUS_R))


def _block_row(ax: Axes, y: float, labels: dict[str, str], names: tuple[str, str, str],
               shape: str) -> float:
    """``names[0] -> LN -> attention -> + (names[1]) -> LN -> MLP -> + (names[2])``, with
    the two residual paths; returns the right end of the row."""
    ax.plot([-0.75, 0.0], [y, y], color="#343a40", linewidth=1.2)
    ax.text(-0.4, y + 0.08, names[0], ha="center", va="bottom", fontsize=11)
    ax.text(0.0, y - 0.6, shape, ha="left", va="top", fontsize=7)
    x = 0.0
    for half, parts in enumerate(((labels["LN"], labels["attention"]),
                                  (labels["LN"], labels["MLP"]))):
        colours = (_COLOURS["LN"], _COLOURS[labels["kind"]] if half == 0 else _COLOURS["MLP"])
        split = x + 0.3
        left = x + _GAP + 0.3
        _arrow(ax, (x if half == 0 else x + _PLUS_R, y), (left, y))
        _box(ax, left, y, parts[0], colours[0])
        left2 = left + _BOX_W + _GAP
        _arrow(ax, (left + _BOX_W, y), (left2, y))
        _box(ax, left2, y, parts[1], colours[1])
        plus = left2 + _BOX_W + _GAP
        _arrow(ax, (left2 + _BOX_W, y), (plus - _PLUS_R, y))
        _plus(ax, plus, y)
        _skip(ax, split, plus, y)
        ax.text(plus, y - 0.3, names[1 + half], ha="center", va="top", fontsize=11)
        x = plus
    return x


def draw_block_pair(layer: BasicLayer | None = None, map_size: tuple[int, int] = (56, 56),
                    variant: str = "T") -> Figure:
    """The first two blocks of a stage as the paper's Fig. 3b, boxes labelled from the modules.

    Args:
        layer: a ``BasicLayer`` with at least two blocks; default: stage 1 of Swin-``variant``
            (``BasicLayer(embed_dim, depth, heads, window_size=7)``), e.g. pass
            ``swin_t().layers[2]`` with ``map_size=(14, 14)`` for stage 3.
        map_size: ``(h, w)`` tokens the stage runs on (Swin-T stage 1 at 224: 56x56); it
            decides the shift the second block really applies (``effective_shift``).
    """
    source = f"stage 1 of Swin-{variant}"
    if layer is None:
        if variant not in VARIANTS:
            raise ValueError(f"variant={variant!r}; expected one of {sorted(VARIANTS)}")
        spec = VARIANTS[variant]
        layer = BasicLayer(spec["embed_dim"], spec["depths"][0], spec["num_heads"][0], 7)
    else:
        source = "the given stage"
    if len(layer.blocks) < 2:
        raise ValueError(f"layer has {len(layer.blocks)} block(s); a block pair needs depth >= 2")
    h, w = map_size
    rows = [block_labels(block, map_size) for block in layer.blocks[:2]]
    dim = layer.blocks[0].norm1.normalized_shape[0]
    shape = f"(B, {h}, {w}, {dim})"
    fig = new_figure(10.0, 4.2)
    ax = fig.subplots()
    ax.set_axis_off()
    right = _block_row(ax, 2.7, rows[0], ("$z^{l-1}$", r"$\hat{z}^{l}$", "$z^{l}$"), shape)
    _block_row(ax, 0.0, rows[1], ("$z^{l}$", r"$\hat{z}^{l+1}$", "$z^{l+1}$"), shape)
    _arrow(ax, (right + _PLUS_R, 0.0), (right + 0.55, 0.0))
    # Block 1's output is block 2's input.
    ax.plot([right + _PLUS_R, right + 0.45, right + 0.45, -0.75, -0.75],
            [2.7, 2.7, 1.45, 1.45, 0.0], color="#343a40", linewidth=1.2)
    ax.text(right / 2, -1.0, f"block 1: {rows[0]['kind']}, then block 2: {rows[1]['kind']}; "
            f"every arrow carries {shape}", ha="center", va="top", fontsize=8.5)
    ax.set_xlim(-1.0, right + 0.6)
    ax.set_ylim(-1.4, 3.7)
    ax.set_aspect("equal")
    fig.suptitle(f"Two successive Swin blocks ({source}, {h}x{w} tokens): "
                 r"$\hat z = $ attention(LN($z$)) + $z$,  $z' = $ MLP(LN($\hat z$)) + $\hat z$",
                 fontsize=10)
    return fig
