import pytest
import torch
from einops import rearrange
from hypothesis import given
from hypothesis import strategies as st

from swin_edu.windows import (cyclic_shift, num_windows, pad_to_window, reverse_cyclic_shift,
                              window_partition, window_reverse)


@st.composite
def feature_maps(draw):
    M = draw(st.integers(1, 5))
    B, C = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    H, W = M * draw(st.integers(1, 4)), M * draw(st.integers(1, 4))
    S = draw(st.integers(0, M - 1))
    return torch.randn(B, H, W, C), M, S


def official_window_partition(x, window_size):
    """The official code's view/permute/view, as printed in the seed text."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


@given(feature_maps())
def test_partition_reverse_round_trip(case):
    x, M, _ = case
    windows = window_partition(x, M)
    assert windows.shape == (x.shape[0] * num_windows(x.shape[1], x.shape[2], M), M, M, x.shape[3])
    assert torch.equal(window_reverse(windows, M, x.shape[1], x.shape[2]), x)


@given(feature_maps())
def test_partition_equals_official_view_permute(case):
    x, M, _ = case
    assert torch.equal(window_partition(x, M), official_window_partition(x, M))


def test_windows_are_row_major():
    x = torch.arange(16).view(1, 4, 4, 1)
    windows = window_partition(x, 2)[..., 0]
    assert windows[1].tolist() == [[2, 3], [6, 7]]  # top-right window comes second
    assert windows[2].tolist() == [[8, 9], [12, 13]]


@given(feature_maps())
def test_roll_unroll_identity(case):
    x, _, S = case
    assert torch.equal(reverse_cyclic_shift(cyclic_shift(x, S), S), x)


@given(feature_maps())
def test_cyclic_shift_moves_up_and_left(case):
    x, _, S = case
    H, W = x.shape[1:3]
    rolled = cyclic_shift(x, S)
    i, j = H - 1, W - 1
    assert torch.equal(rolled[:, i, j], x[:, (i + S) % H, (j + S) % W])


def test_pad_to_window():
    x = torch.ones(1, 10, 12, 2)
    padded, pad_h, pad_w = pad_to_window(x, 7)
    assert (pad_h, pad_w, padded.shape) == (4, 2, (1, 14, 14, 2))
    assert padded[:, 10:].abs().sum() == 0 and padded[:, :, 12:].abs().sum() == 0


@pytest.mark.parametrize("call, message", [
    (lambda: window_partition(torch.zeros(1, 10, 14, 1), 7), "H=10 is not divisible by window_size=7; pad to 14"),
    (lambda: window_partition(torch.zeros(10, 14, 1), 7), "expected rank 4"),
    (lambda: window_partition(torch.zeros(1, 14, 14, 1), 0), "window_size=0"),
    (lambda: window_reverse(torch.zeros(3, 7, 7, 1), 7, 14, 14), "not a multiple of the 4 windows"),
    (lambda: window_reverse(torch.zeros(4, 7, 7, 1), 7, 14, 15), "W=15 is not divisible"),
    (lambda: cyclic_shift(torch.zeros(1, 4, 4), 1), "expected rank 4"),
    (lambda: cyclic_shift(torch.zeros(1, 4, 4, 1), -1), "shift_size=-1"),
    (lambda: pad_to_window(torch.zeros(1, 4, 4, 1), -2), "window_size=-2"),
    (lambda: num_windows(0, 4, 2), "H=0"),
])
def test_bad_input_names_argument_and_fix(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()
