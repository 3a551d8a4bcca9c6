"""Drive the explorers like a learner would: move controls, check the data behind the image."""

import io

import ipywidgets as widgets
import numpy as np
import pytest

from swin_edu.widgets.v2 import CpbExplorer
import torch
from PIL import Image

from swin_edu.complexity import msa_flops, wmsa_flops
from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.model import stage_shapes
from swin_edu.patches import merge_patches
from swin_edu.relative_position import relative_position_index
from swin_edu.viz import token_reach
from swin_edu.widgets import (ComplexityExplorer, MaskExplorer, PatchMergingExplorer,
                              RelativePositionExplorer, ShapeTracer)

ALL = [MaskExplorer, RelativePositionExplorer, ComplexityExplorer, PatchMergingExplorer,
       ShapeTracer, CpbExplorer]


@pytest.mark.parametrize("cls", ALL)
def test_common_interface(cls):
    explorer = cls()
    assert explorer.message == ""
    assert isinstance(explorer.ui, widgets.Box)
    assert isinstance(explorer.image, widgets.Image) and explorer.image.value[:4] == b"\x89PNG"
    assert isinstance(explorer.readout, widgets.HTML) and explorer.readout.value
    assert explorer.state == {name: c.value for name, c in explorer.controls.items()}
    assert explorer.figure is not None and explorer.data
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert f"swin-edu-{explorer.slug}-image" in explorer.image._dom_classes
    for name, control in explorer.controls.items():
        assert any(c.startswith(f"swin-edu-{explorer.slug}-") for c in control._dom_classes), name
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(nonsense=1)


def test_mask_explorer_data_follows_controls():
    explorer = MaskExplorer(H=4, W=4, window_size=2, shift_size=1, window=0, query=0)
    np.testing.assert_array_equal(explorer.data["mask"], np.zeros((4, 4)))
    explorer.set(window=3)
    expected = shifted_window_mask(4, 4, 2, 1)[3].numpy()
    np.testing.assert_array_equal(explorer.data["mask"], expected)
    np.testing.assert_array_equal(explorer.data["labels"], region_labels(4, 4, 2, 1).numpy())
    assert explorer.data["masked_pairs"] == 12
    assert "nW=4" in explorer.readout.value and "masked pairs=12" in explorer.readout.value
    before = explorer.image.value
    explorer.set(shift_size=0)
    np.testing.assert_array_equal(explorer.data["mask"], np.zeros((4, 4)))
    assert explorer.image.value != before


def test_mask_explorer_reach_is_token_reach():
    explorer = MaskExplorer().set(H=56, W=56, window_size=7, shift_size=3, window=63, query=48)
    position = explorer.data["query_position"]
    assert position == (2, 2)  # last token of the bottom-right rolled window wraps to (2, 2)
    np.testing.assert_array_equal(explorer.data["reach"],
                                  token_reach(56, 56, 7, 3, position).numpy())
    explorer.controls["shift_size"].value = 0  # a slider move redraws by itself
    assert explorer.data["query_position"] == (55, 55)
    assert explorer.data["reach"].sum() == 49


def test_mask_explorer_dependent_ranges():
    explorer = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=15)
    explorer.set(window_size=2, shift_size=1)
    assert explorer.controls["window"].max == 15 and explorer.controls["query"].max == 3
    assert explorer.state["query"] == 3
    explorer.set(window=15)
    assert explorer.data["mask"].shape == (4, 4)


@pytest.mark.parametrize("values, fragment", [
    (dict(shift_size=4), "shift_size=4"),
    (dict(H=6), "H=6 is not divisible"),
    (dict(W=10), "W=10 is not divisible"),
])
def test_mask_explorer_invalid_combinations_show_message(values, fragment):
    explorer = MaskExplorer(H=8, W=8, window_size=4, shift_size=2)
    good = explorer.image.value
    explorer.set(**values)  # never raises
    assert fragment in explorer.message
    assert fragment in explorer._message_html.value
    assert explorer.data == {}
    assert "swin-edu-stale" in explorer.image._dom_classes
    assert explorer.image.value == good
    explorer.set(H=8, W=8, shift_size=1)
    assert explorer.message == "" and "swin-edu-stale" not in explorer.image._dom_classes


def test_set_outside_slider_range_raises():
    with pytest.raises(ValueError, match="outside"):
        MaskExplorer().set(H=1000)


def test_relative_position_explorer():
    explorer = RelativePositionExplorer(window_size=2, query=0)
    np.testing.assert_array_equal(explorer.data["index"].flatten(),
                                  relative_position_index(2)[0].numpy())
    explorer.set(window_size=3, query=4)
    np.testing.assert_array_equal(explorer.data["index"].flatten(),
                                  relative_position_index(3)[4].numpy())
    np.testing.assert_array_equal(explorer.data["dy"], [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    assert explorer.controls["query"].max == 8


def test_complexity_explorer_formulas_live():
    explorer = ComplexityExplorer(h=56, w=56, C=96, M=7)
    assert explorer.data["msa"] == msa_flops(56, 56, 96)
    explorer.set(h=28, C=128)
    assert explorer.data["msa"] == msa_flops(28, 56, 128)
    assert explorer.data["wmsa"] == wmsa_flops(28, 56, 128, 7)
    assert explorer.data["ratio"] == pytest.approx(explorer.data["msa"] / explorer.data["wmsa"])
    assert f"{explorer.data['msa']:,}" in explorer.readout.value
    explorer.set(M=30)
    assert "M=30" in explorer.message and explorer.data == {}


def test_patch_merging_explorer():
    explorer = PatchMergingExplorer(H=8, W=8, token=5)
    assert explorer.data["token_inputs"] == [(2, 2), (3, 2), (2, 3), (3, 3)]
    explorer.set(H=6, W=4, token=5)
    expected = merge_patches(torch.arange(24.0).view(1, 6, 4, 1))[0].long().numpy()
    np.testing.assert_array_equal(explorer.data["merged"], expected)
    assert explorer.controls["token"].max == 5
    explorer.set(H=7)
    assert "pad" in explorer.message


def test_shape_tracer_uses_stage_shapes():
    explorer = ShapeTracer(variant="T", image_size=224)
    assert explorer.data["steps"] == stage_shapes("T", 224)
    explorer.set(variant="L", image_size=384)
    assert explorer.data["steps"] == stage_shapes("L", 384)
    assert "12x12x1536" in explorer.readout.value


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.mark.parametrize("cls, start, moves", [
    (MaskExplorer, dict(H=56, W=56, window_size=7, shift_size=3, window=10, query=5),
     [dict(H=4, W=4, window_size=2, shift_size=1, window=3, query=1),
      dict(H=16, W=16, window_size=4, shift_size=2, window=5, query=6)]),
    (RelativePositionExplorer, dict(window_size=7, query=3),
     [dict(window_size=2, query=1), dict(window_size=4, query=9)]),
    (ComplexityExplorer, dict(h=56, w=56, C=96, M=7), [dict(h=28, C=128)]),
])
def test_redraw_on_the_same_figure_matches_a_new_explorer(cls, start, moves):
    # Explorers redraw on one Figure for speed; nothing of the previous state may linger.
    explorer = cls(**start)
    figure = explorer.figure
    for values in moves:
        explorer.set(**values)
        assert explorer.figure is figure
        fresh = cls(**{**start, **values})
        np.testing.assert_array_equal(_pixels(explorer.image.value), _pixels(fresh.image.value))


def test_cpb_explorer_refuses_a_pretraining_window_of_one():
    explorer = CpbExplorer()
    explorer.set(pretrained_window_size=1)
    assert "pretrained_window_size" in explorer.message
    explorer.set(pretrained_window_size=0)
    assert explorer.message == ""
