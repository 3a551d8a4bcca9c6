import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from swin_edu.relative_position import (RelativePositionBias, lookup_bias, relative_coords,
                                        relative_position_index, window_coords)


def test_seed_meshgrid_and_flatten_window_2():
    assert window_coords(2).tolist() == [[0, 0, 1, 1], [0, 1, 0, 1]]


def test_seed_relative_coords_window_2():
    # The seed's matrix of (dy, dx) pairs for window_size=2.
    expected = [[(0, 0), (0, -1), (-1, 0), (-1, -1)],
                [(0, 1), (0, 0), (-1, 1), (-1, 0)],
                [(1, 0), (1, -1), (0, 0), (0, -1)],
                [(1, 1), (1, 0), (0, 1), (0, 0)]]
    assert relative_coords(2).tolist() == [[list(p) for p in row] for row in expected]


def test_seed_relative_position_index_window_2():
    assert relative_position_index(2).tolist() == [[4, 3, 1, 0], [5, 4, 2, 1],
                                                   [7, 6, 4, 3], [8, 7, 5, 4]]


@given(st.integers(1, 12))
def test_index_equals_closed_form(M):
    dy, dx = relative_coords(M).unbind(-1)
    index = relative_position_index(M)
    assert torch.equal(index, (dy + M - 1) * (2 * M - 1) + (dx + M - 1))
    assert index.min() == 0 and index.max() == (2 * M - 1) ** 2 - 1
    assert index.shape == (M * M, M * M) and index.dtype == torch.long


@given(st.integers(2, 9))
def test_index_is_one_to_one_on_offsets(M):
    offsets = relative_coords(M).view(-1, 2)
    index = relative_position_index(M).view(-1)
    pairs = {(tuple(o), int(i)) for o, i in zip(offsets.tolist(), index.tolist())}
    assert len({o for o, _ in pairs}) == len({i for _, i in pairs}) == (2 * M - 1) ** 2


def test_without_multiplier_offsets_collide():
    # The seed's (1, 2) vs (2, 1) argument, checked on window_size=3 after the M-1 shift.
    shifted = relative_coords(3) + 2
    summed = shifted.sum(-1)
    assert len(summed.unique()) < 25 and len(relative_position_index(3).unique()) == 25


def test_bias_module_gathers_table_rows():
    bias = RelativePositionBias(window_size=3, num_heads=2)
    out = bias()
    assert out.shape == (2, 9, 9)
    index = relative_position_index(3)
    assert torch.equal(out[1, 4, 0], bias.relative_position_bias_table[index[4, 0], 1])
    assert torch.equal(out, lookup_bias(bias.relative_position_bias_table, index))
    assert "relative_position_index" not in bias.state_dict()


@pytest.mark.parametrize("call, message", [
    (lambda: relative_position_index(0), "window_size=0"),
    (lambda: relative_coords(-3), "window_size=-3"),
    (lambda: RelativePositionBias(7, 0), "num_heads=0"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
