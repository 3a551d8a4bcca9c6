"""Matplotlib renderers: pure functions that draw real package values and return a Figure.

Every ``draw_*`` function computes what it shows with ``swin_edu`` itself (masks, indices,
shapes, FLOP formulas), builds a ``matplotlib.figure.Figure`` directly (no pyplot state, no
``plt.show()``) and returns it. In a notebook, a returned Figure displays itself when it is
the last value of a cell; save one with ``fig.savefig(path)``.

Colours: regions 0..8 always use the same nine colours; masks are light (0, may attend) or
dark (-100, masked); the query token is red.
"""

from swin_edu.viz.architecture import draw_architecture
from swin_edu.viz.block import block_labels, draw_block_pair
from swin_edu.viz.complexity import complexity_terms, draw_complexity, draw_formula_vs_measured
from swin_edu.viz.hierarchy import draw_hierarchy, hierarchy_levels
from swin_edu.viz.masks import (draw_mask_grid, draw_region_labels, draw_token_reach,
                                draw_window_mask, token_reach, window_token_ids)
from swin_edu.viz.patches import draw_patch_merging, draw_patch_partition, merge_source_codes
from swin_edu.viz.receptive_field import draw_receptive_field, token_at_pixel
from swin_edu.viz.relative_position import bias_row, draw_bias_row, draw_relative_position
from swin_edu.viz.tensors import draw_tensor_grid
from swin_edu.viz.v2 import (activation_growth, bias_transfer, cpb_coords,
                             draw_activation_growth, draw_bias_transfer, draw_cpb_coords)
from swin_edu.viz.windows import draw_cyclic_shift, draw_window_partition, token_ids

__all__ = [
    "draw_tensor_grid", "draw_patch_partition", "draw_patch_merging", "draw_window_partition",
    "draw_cyclic_shift", "draw_region_labels", "draw_mask_grid", "draw_window_mask",
    "draw_token_reach", "draw_relative_position", "draw_bias_row", "draw_complexity",
    "draw_formula_vs_measured", "draw_architecture", "draw_hierarchy", "draw_block_pair",
    "draw_receptive_field", "hierarchy_levels", "block_labels", "token_at_pixel",
    "token_reach", "window_token_ids", "bias_row", "complexity_terms", "merge_source_codes",
    "token_ids", "draw_activation_growth", "draw_cpb_coords", "draw_bias_transfer",
    "activation_growth", "cpb_coords", "bias_transfer",
]
