"""The explorers show the package's own numbers: the checks the notebooks used to run inline
(00, 02, 04, 05), for the states those notebooks display. Each notebook keeps one line that says
what its explorer shows."""

import torch

from swin_edu import viz
from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.model import stage_shapes
from swin_edu.patches import merge_patches
from swin_edu.relative_position import relative_position_index
from swin_edu.widgets import (MaskExplorer, PatchMergingExplorer, RelativePositionExplorer,
                              ShapeTracer)


def test_00_shape_tracer_lists_stage_shapes():
    tracer = ShapeTracer(variant="T", image_size=224)
    assert tracer.data["steps"] == stage_shapes("T", 224)
    tracer.set(variant="B", image_size=384)
    assert tracer.data["steps"] == stage_shapes("B", 384)


def test_02_patch_merging_explorer_lists_the_merged_channels():
    explorer = PatchMergingExplorer(H=8, W=8, token=6)
    merged = merge_patches(torch.arange(64).view(1, 8, 8, 1))  # the notebook's 8x8 example
    assert explorer.message == ""
    assert explorer.data["token_values"].tolist() == merged[0, 1, 2].tolist() == [20, 28, 21, 29]
    explorer.set(H=7)  # odd: the message replaces the picture
    assert "7x8" in explorer.message
    explorer.set(H=8)
    assert explorer.message == ""


def test_04_relative_position_explorer_reads_the_index_row():
    explorer = RelativePositionExplorer(window_size=3, query=0)
    assert explorer.message == ""
    assert torch.equal(torch.as_tensor(explorer.data["index"]),
                       relative_position_index(3)[explorer.state["query"]].view(3, 3))
    for query in range(9):  # viz.bias_row is what the explorer draws from
        rows = torch.as_tensor(viz.bias_row(3, query)["index"])  # (M, M)
        assert torch.equal(rows, relative_position_index(3)[query].view(3, 3))


def paper_windows(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """(H, W): the displaced ("paper") window of each token of the original map (notebook 05,
    section 2), numbered row-major."""
    def band(p: torch.Tensor) -> torch.Tensor:
        return (p + window_size - shift_size) // window_size if shift_size else p // window_size

    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    per_row = int(band(torch.tensor(W - 1))) + 1
    return band(rows) * per_row + band(cols)


def test_05_token_reach_is_the_query_window_on_the_original_map():
    H, W, M, S = 8, 8, 4, 2
    regular, paper = paper_windows(H, W, M, 0), paper_windows(H, W, M, S)
    assert paper.unique().numel() == 9
    for t in range(H * W):
        query = divmod(t, W)
        assert torch.equal(viz.token_reach(H, W, M, 0, query), regular == regular[query])
        assert torch.equal(viz.token_reach(H, W, M, S, query), paper == paper[query])


def test_05_mask_explorer_shows_the_package_tensors():
    explorer = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=5)
    state = explorer.state
    assert explorer.message == ""
    args = (state["H"], state["W"], state["window_size"], state["shift_size"])
    assert torch.equal(torch.as_tensor(explorer.data["mask"]),
                       shifted_window_mask(*args)[state["window"]])
    assert torch.equal(torch.as_tensor(explorer.data["labels"]), region_labels(*args))
    position = explorer.data["query_position"]
    assert torch.equal(torch.as_tensor(explorer.data["reach"]), viz.token_reach(*args, position))
