import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.windows import window_partition

# The four 4x4 masks printed in the seed text (window_size=2, shift_size=1 on a 4x4 map).
SEED_MASKS = torch.tensor([
    [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    [[0, -100, 0, -100], [-100, 0, -100, 0], [0, -100, 0, -100], [-100, 0, -100, 0]],
    [[0, 0, -100, -100], [0, 0, -100, -100], [-100, -100, 0, 0], [-100, -100, 0, 0]],
    [[0, -100, -100, -100], [-100, 0, -100, -100], [-100, -100, 0, -100], [-100, -100, -100, 0]],
], dtype=torch.float32)


def official_img_mask(H, W, window_size, shift_size):
    """The official slicing loop (`img_mask`, `cnt`) from the seed text."""
    img_mask = torch.zeros((1, H, W, 1))
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    return img_mask


def test_seed_four_masks_exactly():
    assert torch.equal(shifted_window_mask(4, 4, 2, 1), SEED_MASKS)


@st.composite
def configs(draw):
    M = draw(st.integers(1, 6))
    H, W = M * draw(st.integers(1, 4)), M * draw(st.integers(1, 4))
    return H, W, M, draw(st.integers(0, M - 1))


@given(configs())
def test_region_labels_equal_official_slicing(cfg):
    H, W, M, S = cfg
    if S == 0:
        assert region_labels(H, W, M, S).eq(0).all()
        return
    assert torch.equal(region_labels(H, W, M, S), official_img_mask(H, W, M, S)[0, :, :, 0].long())


@given(configs())
def test_mask_symmetric_zero_diagonal_zero_at_shift_0(cfg):
    H, W, M, S = cfg
    mask = shifted_window_mask(H, W, M, S)
    assert mask.shape == ((H // M) * (W // M), M * M, M * M)
    assert torch.equal(mask, mask.transpose(1, 2))
    assert mask.diagonal(dim1=1, dim2=2).eq(0).all()
    assert set(mask.unique().tolist()) <= {0.0, -100.0}
    assert bool(mask.eq(0).all()) == (S == 0)  # the wrapped last window always splits


@given(configs())
def test_mask_equals_official_subtraction(cfg):
    H, W, M, S = cfg
    if S == 0:
        return
    windows = window_partition(official_img_mask(H, W, M, S), M).view(-1, M * M)
    official = windows.unsqueeze(1) - windows.unsqueeze(2)
    official = official.masked_fill(official != 0, -100.0).masked_fill(official == 0, 0.0)
    assert torch.equal(shifted_window_mask(H, W, M, S), official)


def test_mask_allows_only_original_neighbours():
    # Derive the mask from original coordinates (official issue #38): two tokens in a rolled
    # window may attend to each other iff their original positions lie in the same shifted
    # window, i.e. the same segment of the shifted grid on both axes.
    H = W = 8
    M, S = 4, 2
    rows = torch.arange(H)
    original = (rows + S) % H  # rolled row i holds original row (i + S) % H
    segment = (original + (M - S)) // M  # shifted-grid segments [0,S), [S,S+M), ...
    seg = segment[:, None] * 10 + segment[None, :]  # (H, W) segment id of each rolled token
    ids = window_partition(seg[None, :, :, None], M).view(-1, M * M)
    expected = torch.where(ids[:, :, None] == ids[:, None, :], 0.0, -100.0)
    assert torch.equal(shifted_window_mask(H, W, M, S), expected)


@pytest.mark.parametrize("args, message", [
    ((10, 8, 4, 2), "H=10 is not divisible by window_size=4"),
    ((8, 8, 4, 4), "shift_size=4 must be an integer in \\[0, window_size=4\\)"),
    ((8, 8, 4, -1), "shift_size=-1"),
    ((0, 8, 4, 1), "H=0"),
    ((8, 8, 0, 0), "window_size=0"),
])
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        shifted_window_mask(*args)
    with pytest.raises(ValueError, match=message):
        region_labels(*args)
