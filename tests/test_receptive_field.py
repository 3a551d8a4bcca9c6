"""Receptive field by autograd: exact windows for W-MSA, border crossing for SW-MSA, growth
through the stages (small_swin at 128x128: 32x32, 16x16, 8x8 tokens; window 4)."""

import pytest
import torch

from swin_edu.receptive_field import (REACH_THRESHOLD, forward_steps, reach_map, reach_maps,
                                      reach_steps, receptive_field, receptive_fields, step_stage,
                                      small_swin, stage_shift, step_stride, token_at_pixel)

SIZE = 128


@pytest.fixture(scope="module")
def model():
    return small_swin(SIZE)


def _box(top: int, left: int, height: int, width: int) -> torch.Tensor:
    box = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    box[top:top + height, left:left + width] = True
    return box


@pytest.fixture(scope="module")
def middle(model):
    """Reach of the tokens holding pixel (45, 70) after every step (one forward pass)."""
    tokens = {step: token_at_pixel(model, step, (45, 70)) for step in reach_steps(model)}
    return tokens, reach_maps(model, tokens, SIZE)


def test_steps_and_maps_match_the_model(model):
    steps = reach_steps(model)
    assert steps == ["patch embedding", "stage 1 block 1 (W-MSA)", "stage 1 block 2 (SW-MSA)",
                     "patch merging 1", "stage 2 block 1 (W-MSA)", "stage 2 block 2 (SW-MSA)",
                     "patch merging 2", "stage 3 block 1 (W-MSA)", "stage 3 block 2 (SW-MSA)"]
    image = torch.randn(1, 1, SIZE, SIZE)
    maps = forward_steps(model, image)
    assert list(maps) == steps
    for step, out in maps.items():
        assert out.shape[1] == SIZE // step_stride(model, step)
    # The last map is what the model itself computes before its final norm.
    with torch.no_grad():
        expected = model.forward_features(image)
        assert torch.allclose(model.norm(maps[steps[-1]]).mean(dim=(1, 2)), expected,
                              atol=1e-6)


def test_every_stage_really_shifts(model):
    for stage, tokens in ((1, 32), (2, 16), (3, 8)):
        assert stage_shift(model, stage, 1, (tokens, tokens)) == (0, 0)
        assert stage_shift(model, stage, 2, (tokens, tokens)) == (2, 2)


def test_patch_embedding_reach_is_the_patch(model, middle):
    tokens, reach = middle
    assert tokens["patch embedding"] == (11, 17)
    assert torch.equal(reach["patch embedding"], _box(44, 68, 4, 4))


def test_w_msa_reach_is_exactly_the_window(model, middle):
    # Token (11, 17) lies in window rows [8, 12), cols [16, 20): 16x16 pixels.
    _, reach = middle
    assert torch.equal(reach["stage 1 block 1 (W-MSA)"], _box(32, 64, 16, 16))
    # Every token of the map: its 4x4-token window, nothing else.
    for row, col in ((0, 0), (5, 30), (31, 31)):
        got = reach_map(model, "stage 1 block 1 (W-MSA)", (row, col), SIZE)
        assert torch.equal(got, _box(row // 4 * 16, col // 4 * 16, 16, 16)), (row, col)


def test_sw_msa_crosses_window_borders(model, middle):
    # Shifted window of token (11, 17): rows [10, 14), cols [14, 18); its tokens' W-MSA
    # windows cover token rows [8, 16), cols [12, 20): four regular windows, 32x32 pixels.
    _, reach = middle
    sw = reach["stage 1 block 2 (SW-MSA)"]
    assert torch.equal(sw, _box(32, 48, 32, 32))
    assert (sw & ~reach["stage 1 block 1 (W-MSA)"]).any()


def test_sw_msa_mask_keeps_a_corner_token_in_its_corner(model):
    # The bottom-right token's shifted window wraps around after the roll; the mask cuts the
    # wrapped keys, so the reach does not grow past its W-MSA window.
    steps = ("stage 1 block 1 (W-MSA)", "stage 1 block 2 (SW-MSA)")
    fields = receptive_fields(model, {step: (31, 31) for step in steps}, SIZE)
    w, sw = (fields[step] > REACH_THRESHOLD * fields[step].max() for step in steps)
    assert torch.equal(sw, w)
    assert torch.equal(sw, _box(112, 112, 16, 16))
    # Without the threshold, the masked pairs' exp(-100) weights leak a tiny gradient.
    field = fields[steps[1]]
    leak = field[~sw]
    assert (leak > 0).any() and leak.max() < 1e-40 * field.max()


def test_reach_grows_through_the_stages(model, middle):
    _, reach = middle
    sizes = {step: int(r.sum()) for step, r in reach.items()}
    assert sizes == {"patch embedding": 16, "stage 1 block 1 (W-MSA)": 256,
                     "stage 1 block 2 (SW-MSA)": 1024, "patch merging 1": 1024,
                     "stage 2 block 1 (W-MSA)": 4096, "stage 2 block 2 (SW-MSA)": 7680,
                     "patch merging 2": 7680, "stage 3 block 1 (W-MSA)": 12544,
                     "stage 3 block 2 (SW-MSA)": SIZE * SIZE}
    steps = reach_steps(model)
    for before, after in zip(steps, steps[1:]):
        assert not (reach[before] & ~reach[after]).any(), f"{after} lost pixels of {before}"
    # Patch merging alone adds nothing here (its 2x2 group sits inside one shifted window);
    # the next stage's windows, twice as wide in pixels, do: 64x64 > anything in stage 1.
    assert torch.equal(reach["patch merging 1"], reach["stage 1 block 2 (SW-MSA)"])
    assert torch.equal(reach["stage 2 block 1 (W-MSA)"], _box(16, 48, 64, 64))


def test_threshold_separates_dependencies_from_leaks(model):
    # Real dependencies stay far above the threshold, leaks far below it.
    for pixel in ((45, 70), (127, 127), (0, 0)):
        tokens = {step: token_at_pixel(model, step, pixel) for step in reach_steps(model)}
        for step, field in receptive_fields(model, tokens, SIZE).items():
            relative = field / field.max()
            assert not ((relative > 1e-40) & (relative < 1e-12)).any(), (pixel, step)
    assert 1e-40 < REACH_THRESHOLD < 1e-12


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="step='stage 9'"):
        receptive_field(model, "stage 9", (0, 0), SIZE)
    with pytest.raises(ValueError, match=r"token=\(32, 0\).*32x32"):
        receptive_field(model, "stage 1 block 1 (W-MSA)", (32, 0), SIZE)


def test_step_stage_and_stride(model):
    assert step_stage(model, "patch embedding") == (1, None)
    assert step_stage(model, "patch merging 1") == (2, None)
    assert step_stage(model, "stage 3 block 2 (SW-MSA)") == (3, 2)
    assert [step_stride(model, s) for s in ("patch embedding", "patch merging 2")] == [4, 16]
