"""swin_edu.web: the website's precomputed explorer states equal what the ipywidgets explorers
compute for the same controls, and every invalid combination carries the widget's message."""

import numpy as np
import pytest

from swin_edu import web
from swin_edu.complexity import msa_flops, wmsa_flops
from swin_edu.widgets import ComplexityExplorer, MaskExplorer, PatchMergingExplorer, \
    RelativePositionExplorer


@pytest.fixture(scope="module")
def mask():
    return web.mask_states(sides=(4, 6, 8), windows=(1, 2, 3, 4))


def _bits(text: str) -> np.ndarray:
    return np.array([c == "1" for c in text])


@pytest.mark.parametrize("H, W, M, S, window, query", [
    (4, 4, 2, 1, 3, 0), (8, 8, 4, 2, 3, 5), (6, 8, 2, 1, 5, 2), (6, 6, 3, 1, 2, 7),
    (8, 4, 4, 3, 1, 15), (8, 8, 1, 0, 10, 0)])
def test_mask_states_equal_the_mask_explorer(mask, H, W, M, S, window, query):
    state = mask["states"][f"{H},{W},{M},{S}"]
    explorer = MaskExplorer(H=H, W=W, window_size=M, shift_size=S, window=window, query=query)
    data = explorer.data
    N = M * M
    np.testing.assert_array_equal(np.array(state["labels"]).reshape(H, W), data["labels"])
    np.testing.assert_array_equal(state["ids"][window], data["token_ids"])
    np.testing.assert_array_equal(_bits(state["mask"][window]).reshape(N, N), data["mask"] != 0)
    assert state["masked_pairs"][window] == data["masked_pairs"]
    assert len(state["ids"]) == data["num_windows"]
    token = state["ids"][window][query]
    assert divmod(token, W) == tuple(data["query_position"])
    np.testing.assert_array_equal(_bits(state["reach"][token]).reshape(H, W), data["reach"])
    explorer.close()


def test_every_invalid_mask_combination_has_the_widget_message(mask):
    explorer = MaskExplorer()
    checked = 0
    for key, state in mask["states"].items():
        if isinstance(state, int):
            H, W, M, S = map(int, key.split(","))
            explorer.set(H=H, W=W, window_size=M, shift_size=S)
            assert mask["messages"][state] == explorer.message != ""
            checked += 1
    assert checked > 0
    explorer.close()


def test_valid_mask_combinations_are_exactly_the_valid_window_arguments(mask):
    for key, state in mask["states"].items():
        H, W, M, S = map(int, key.split(","))
        assert isinstance(state, dict) == (H % M == 0 and W % M == 0 and S < M), key


def test_relpos_states_equal_the_explorer():
    states = web.relpos_states(windows=(2, 3, 5))["states"]
    for M, query in ((2, 0), (3, 4), (5, 13)):
        explorer = RelativePositionExplorer(window_size=M, query=query)
        state = states[str(M)][query]
        np.testing.assert_array_equal(np.array(state["index"]).reshape(M, M),
                                      explorer.data["index"])
        np.testing.assert_array_equal(np.array(state["dy"]).reshape(M, M), explorer.data["dy"])
        np.testing.assert_array_equal(np.array(state["dx"]).reshape(M, M), explorer.data["dx"])
        assert len(states[str(M)]) == M * M
        explorer.close()


def test_complexity_states_and_messages():
    data = web.complexity_states(sides=(7, 56), channels=(96,), windows=(7, 8))
    msa, wmsa, projections = data["states"]["56,56,96,7"]
    assert (msa, wmsa) == (msa_flops(56, 56, 96), wmsa_flops(56, 56, 96, 7))
    assert projections == 4 * 56 * 56 * 96 ** 2
    explorer = ComplexityExplorer(h=7, w=56, C=96, M=8)
    assert data["messages"][data["states"]["7,56,96,8"]] == explorer.message != ""
    explorer.close()


def test_merging_states_equal_the_explorer():
    data = web.merging_states(sides=(3, 4, 6))
    explorer = PatchMergingExplorer(H=4, W=6, token=4)
    state = data["states"]["4,6"]
    np.testing.assert_array_equal(np.array(state["sources"]).reshape(4, 6),
                                  explorer.data["sources"])
    np.testing.assert_array_equal(state["merged"][4], explorer.data["token_values"])
    explorer.set(H=3)
    assert data["messages"][data["states"]["3,6"]] == explorer.message != ""
    explorer.close()


def test_shapes_states_equal_stage_shapes():
    from swin_edu.model import stage_shapes

    data = web.shapes_states(sizes=(224, 384))
    assert data["variants"] == ["T", "S", "B", "L"]
    steps = data["states"]["B,384"]
    assert [s["name"] for s in steps] == [s["name"] for s in stage_shapes("B", 384)]
    assert [tuple(s["shape"]) for s in steps] == [s["shape"] for s in stage_shapes("B", 384)]


def test_state_counts_and_the_lab_page_ranges():
    """book/explorers.md states these ranges in prose; keep them true."""
    assert web.MASK_SIDES == tuple(range(1, 9)) and web.MASK_WINDOWS == tuple(range(1, 9))
    assert web.RELPOS_WINDOWS == tuple(range(1, 9))
    assert web.COMPLEXITY_SIDES == (7, 8, 14, 16, 28, 32, 56, 64, 112, 128)
    assert (min(web.COMPLEXITY_CHANNELS), max(web.COMPLEXITY_CHANNELS)) == (32, 1024)
    assert web.COMPLEXITY_WINDOWS == tuple(range(1, 17))
    assert web.MERGING_SIDES == tuple(range(1, 17))
    assert web.SHAPES_SIZES == tuple(range(32, 1025, 32))
    counts = web.state_counts({"mask": web.mask_states(sides=(4,), windows=(2,)),
                               "relpos": web.relpos_states(windows=(2,)),
                               "complexity": web.complexity_states((7,), (96,), (7, 8)),
                               "merging": web.merging_states((2, 3)),
                               "shapes": web.shapes_states((224,))})
    assert counts["mask"] == {"valid": 2, "invalid": 0, "views": 32}  # S = 0, 1; 4 windows x 4
    assert counts["relpos"] == {"valid": 1, "invalid": 0, "views": 4}
    assert counts["complexity"] == {"valid": 1, "invalid": 1, "views": 1}
    assert counts["merging"] == {"valid": 1, "invalid": 3, "views": 1}
    assert counts["shapes"] == {"valid": 4, "invalid": 0, "views": 4}
