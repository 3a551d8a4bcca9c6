"""The renderers draw the package's real values and return pyplot-free Figures."""

from matplotlib.backends.backend_agg import FigureCanvasAgg
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from swin_edu import viz
from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.patches import merge_patches
from swin_edu.relative_position import relative_coords, relative_position_index


def _images(fig: Figure) -> list[np.ndarray]:
    return [np.asarray(image.get_array()) for ax in fig.axes for image in ax.images]


def test_no_pyplot_state():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    viz.draw_mask_grid(4, 4, 2, 1)
    assert plt.get_fignums() == before


def test_mask_grid_draws_shifted_window_mask():
    fig = viz.draw_mask_grid(4, 4, window_size=2, shift_size=1)
    expected = shifted_window_mask(4, 4, 2, 1).numpy()
    drawn = _images(fig)[:4]
    assert len(drawn) == 4
    for window, array in enumerate(drawn):
        np.testing.assert_array_equal(array, expected[window])
    # The seed's window 3: only the diagonal is allowed.
    np.testing.assert_array_equal(drawn[3] == 0, np.eye(4, dtype=bool))


def test_region_labels_drawn_are_region_labels():
    fig = viz.draw_region_labels(8, 8, 4, 2)
    np.testing.assert_array_equal(_images(fig)[0], region_labels(8, 8, 4, 2).numpy())


def test_window_mask_and_range_error():
    fig = viz.draw_window_mask(8, 8, 4, 2, window=3, query=5)
    np.testing.assert_array_equal(_images(fig)[1], shifted_window_mask(8, 8, 4, 2)[3].numpy())
    with pytest.raises(ValueError, match="window=4"):
        viz.draw_window_mask(8, 8, 4, 2, window=4)


def test_token_reach_matches_mask_semantics():
    # W-MSA: the query's regular window.
    reach = viz.token_reach(8, 8, 4, 0, (5, 6)).numpy()
    expected = np.zeros((8, 8), bool)
    expected[4:8, 4:8] = True
    np.testing.assert_array_equal(reach, expected)
    # SW-MSA: the bottom-right corner only reaches the 2x2 corner it was next to in the image.
    reach = viz.token_reach(8, 8, 4, 2, (7, 7)).numpy()
    expected = np.zeros((8, 8), bool)
    expected[6:8, 6:8] = True
    np.testing.assert_array_equal(reach, expected)
    # An interior shifted window is a full 4x4 block starting at the shift.
    reach = viz.token_reach(8, 8, 4, 2, (3, 3)).numpy()
    expected = np.zeros((8, 8), bool)
    expected[2:6, 2:6] = True
    np.testing.assert_array_equal(reach, expected)
    fig = viz.draw_token_reach(8, 8, 4, 2, (7, 7))
    assert _images(fig)[1].sum() == 3 + 2  # three keys (code 1) and the query (code 2)


def test_token_reach_rejects_query_outside():
    with pytest.raises(ValueError, match="query"):
        viz.token_reach(8, 8, 4, 2, (8, 0))


def test_patch_merging_draws_merge_patches():
    fig = viz.draw_patch_merging(8, 8)
    merged = merge_patches(torch.arange(64.0).view(1, 8, 8, 1))[0].numpy()
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    for block in range(4):  # panels x0..x3 hold the strided sub-maps
        assert texts[1 + block] == [str(int(v)) for v in merged[..., block].flatten()]
    codes = viz.merge_source_codes(8, 8)
    assert codes[0, 0] == 0 and codes[1, 0] == 1 and codes[0, 1] == 2 and codes[1, 1] == 3


def test_relative_position_matrices():
    fig = viz.draw_relative_position(2)
    dy, dx, index = _images(fig)
    offsets = relative_coords(2).numpy()
    np.testing.assert_array_equal(dy, offsets[..., 0])
    np.testing.assert_array_equal(dx, offsets[..., 1])
    np.testing.assert_array_equal(index, relative_position_index(2).numpy())


def test_bias_row_reads_table():
    table = torch.randn(25, 2, generator=torch.Generator().manual_seed(0))
    data = viz.bias_row(3, 4, table, head=1)
    index = relative_position_index(3)[4]
    np.testing.assert_allclose(data["bias"].flatten(), table[index, 1].numpy())
    assert sorted(data["index"].flatten()) == sorted(index.tolist())
    with pytest.raises(ValueError, match="rows"):
        viz.bias_row(2, 0, table)
    assert isinstance(viz.draw_bias_row(3, 4, table, head=1), Figure)


def test_complexity_terms_add_up():
    from swin_edu.complexity import msa_flops, wmsa_flops

    terms = viz.complexity_terms(56, 56, 96, 7)
    assert terms["projections"] + terms["msa_attention"] == msa_flops(56, 56, 96)
    assert terms["projections"] + terms["wmsa_attention"] == wmsa_flops(56, 56, 96, 7)
    fig = viz.draw_complexity()
    assert fig.axes[0].get_yscale() == "log"


def test_formula_vs_measured_validates_lengths():
    with pytest.raises(ValueError, match="equal length"):
        viz.draw_formula_vs_measured(["a"], [1, 2], [1])


def test_architecture_uses_stage_shapes():
    from swin_edu.model import stage_shapes

    fig = viz.draw_architecture("B", 384)
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    for step in stage_shapes("B", 384):
        if len(step["shape"]) == 4 and step["name"] != "image":
            assert f"{step['shape'][1]}x{step['shape'][2]}\nC={step['shape'][3]}" in text


@pytest.mark.parametrize("draw", [
    lambda: viz.draw_tensor_grid(torch.arange(12).view(3, 4)),
    lambda: viz.draw_patch_partition(8, 8, 4),
    lambda: viz.draw_window_partition(8, 8, 4),
    lambda: viz.draw_cyclic_shift(8, 8, 4, 2),
    lambda: viz.draw_mask_grid(28, 28, 7, 3),
    lambda: viz.draw_token_reach(56, 56, 7, 3, (0, 0)),
])
def test_renderers_return_figures(draw):
    fig = draw()
    assert isinstance(fig, Figure) and fig.axes
    FigureCanvasAgg(fig).draw()


def test_tensor_grid_rejects_rank_3():
    with pytest.raises(ValueError, match="shape"):
        viz.draw_tensor_grid(torch.zeros(2, 2, 2))


def test_invalid_window_args_raise():
    with pytest.raises(ValueError, match="shift_size"):
        viz.draw_cyclic_shift(8, 8, 4, 4)


def test_hierarchy_levels_follow_stage_shapes():
    levels = viz.hierarchy_levels("T", 224)
    assert [(lv["downsample"], lv["tokens"], lv["window"]) for lv in levels["swin"]] == [
        (4, (56, 56), 7), (8, (28, 28), 7), (16, (14, 14), 7), (32, (7, 7), 7)]
    assert levels["vit"][0]["tokens"] == (14, 14) and levels["vit"][0]["window"] == 14
    # A size the window does not divide: the stage pads to whole windows.
    padded = [lv["padded"] for lv in viz.hierarchy_levels("T", 256)["swin"]]
    assert padded == [(70, 70), (35, 35), (21, 21), (14, 14)]


def test_hierarchy_draws_its_captions():
    fig = viz.draw_hierarchy("T", 224)
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert "56x56 tokens, 64 windows\nattends to its 7x7 window" in labels
    assert "7x7 tokens, 1 window\nattends to its 7x7 window" in labels
    assert "14x14 tokens\nattends to all 196" in labels
    with pytest.raises(ValueError, match="vit_patch=16"):
        viz.draw_hierarchy("T", 200)
    with pytest.raises(ValueError, match="query"):
        viz.draw_hierarchy("T", 224, query=(1.0, 0.5))


def test_block_labels_read_the_modules():
    from swin_edu.model import BasicLayer

    layer = BasicLayer(96, 2, 3, window_size=7)
    first, second = (viz.block_labels(block, (56, 56)) for block in layer.blocks)
    assert first["kind"] == "W-MSA" and "shift 0, 3 heads" in first["attention"]
    assert second["kind"] == "SW-MSA" and "shift 3, 3 heads" in second["attention"]
    assert second["MLP"] == "MLP, GELU\n96->384->96"
    # Stage 4 of Swin-T at 224 is one 7x7 window: the second block does not shift.
    assert viz.block_labels(BasicLayer(768, 2, 24, 7).blocks[1], (7, 7))["kind"] == "W-MSA"
    fig = viz.draw_block_pair(layer, (56, 56))
    text = [t.get_text() for t in fig.axes[0].texts]
    assert first["attention"] in text and second["attention"] in text
    with pytest.raises(ValueError, match="depth >= 2"):
        viz.draw_block_pair(BasicLayer(96, 1, 3, 7))


def test_receptive_field_draws_reach_maps():
    from swin_edu.receptive_field import reach_map, small_swin, token_at_pixel

    steps = ("stage 1 block 1 (W-MSA)", "stage 1 block 2 (SW-MSA)")
    fig = viz.draw_receptive_field(64, pixel=(20, 30), steps=steps)
    model = small_swin(64)
    for array, step in zip(_images(fig), steps):
        token = token_at_pixel(model, step, (20, 30))
        reach = reach_map(model, step, token, 64).numpy()
        np.testing.assert_array_equal(array > 0, reach)  # 1 = depends on, 2 = the patch
        assert (array == 2).sum() == 16
    with pytest.raises(ValueError, match="pixel"):
        viz.draw_receptive_field(64, pixel=(64, 0))
