import pytest
import torch
from einops import rearrange
from hypothesis import given
from hypothesis import strategies as st

from swin_edu.patches import PatchEmbed, PatchMerging, merge_patches, patch_partition


def test_seed_patch_merging_8x8_order():
    # N=1, H=W=8, C=1: x0 takes (even, even), x1 (odd, even), x2 (even, odd), x3 (odd, odd).
    x = torch.arange(64.0).view(1, 8, 8, 1)
    merged = merge_patches(x)
    assert merged.shape == (1, 4, 4, 4)
    assert merged[0, 0, 0].tolist() == [0.0, 8.0, 1.0, 9.0]
    assert merged[0, 1, 2].tolist() == [20.0, 28.0, 21.0, 29.0]
    assert merged[0, :, :, 0].tolist() == [[0, 2, 4, 6], [16, 18, 20, 22],
                                           [32, 34, 36, 38], [48, 50, 52, 54]]


@given(st.integers(1, 2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_strided_slices_equal_einops(B, half_h, half_w, C):
    x = torch.randn(B, 2 * half_h, 2 * half_w, C)
    # Channel order (dx, dy, c): x0=(0,0), x1=(1,0) row offset, x2=(0,1) column offset.
    expected = rearrange(x, "b (h dy) (w dx) c -> b h w (dx dy c)", dy=2, dx=2)
    assert torch.equal(merge_patches(x), expected)


def test_patch_embed_conv_equals_cut_flatten_linear():
    embed = PatchEmbed(patch_size=4, in_chans=3, embed_dim=8, patch_norm=False)
    images = torch.randn(2, 3, 16, 12)
    patches = patch_partition(images, 4)  # (2, 4, 3, 48)
    assert patches.shape == (2, 4, 3, 48)
    linear = torch.nn.Linear(48, 8)
    linear.weight.data = embed.proj.weight.data.reshape(8, 48)
    linear.bias.data = embed.proj.bias.data
    torch.testing.assert_close(embed(images), linear(patches), rtol=1e-5, atol=1e-5)


def test_patch_merging_shapes_and_padding():
    merging = PatchMerging(dim=6)
    assert merging(torch.randn(2, 8, 6, 6)).shape == (2, 4, 3, 12)
    assert merging(torch.randn(1, 7, 5, 6)).shape == (1, 4, 3, 12)  # odd sides are padded
    assert set(dict(merging.named_parameters())) == {"norm.weight", "norm.bias", "reduction.weight"}


def test_patch_merging_is_layernorm_then_linear_of_merged():
    merging = PatchMerging(dim=3)
    x = torch.randn(1, 4, 4, 3)
    expected = merging.reduction(merging.norm(merge_patches(x)))
    torch.testing.assert_close(merging(x), expected)


def test_patch_embed_pads_odd_images():
    assert PatchEmbed(embed_dim=8)(torch.randn(1, 3, 30, 33)).shape == (1, 8, 9, 8)


@pytest.mark.parametrize("call, message", [
    (lambda: patch_partition(torch.zeros(1, 3, 10, 8), 4), "H=10 is not divisible by patch_size=4"),
    (lambda: patch_partition(torch.zeros(3, 8, 8), 4), "expected rank 4"),
    (lambda: merge_patches(torch.zeros(1, 5, 4, 1)), "must have even sides"),
    (lambda: PatchMerging(4)(torch.zeros(1, 4, 4, 3)), "expected dim=4"),
    (lambda: PatchEmbed(in_chans=3)(torch.zeros(1, 1, 8, 8)), "expected in_chans=3"),
    (lambda: PatchEmbed(patch_size=0), "patch_size=0"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
