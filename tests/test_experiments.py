"""swin_edu.experiments: the jigsaw's label needs both sides of a border, the ablation switches
change the computation, and a seed fixes a run."""

import pytest
import torch
from torch.testing import assert_close

from swin_edu.attention import WindowAttention
from swin_edu.experiments import (PALETTE, Split, TinyCNN, TinyViT, UnmaskedWindowAttention,
                                  digits_split, jigsaw_pairs, mean_std, run_seeds, seams_match,
                                  seed_everything, shuffle_tiles, tile_view, tiny_swin, train)


@pytest.fixture(autouse=True)
def _restore_torch_settings():
    # seed_everything sets one thread and deterministic kernels: give other tests theirs back
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def _jigsaw_model(**switches):
    return tiny_swin(in_chans=3, num_classes=2, embed_dim=16, depths=(2,), num_heads=(2,),
                     **switches)


def test_jigsaw_labels_follow_the_seam_rule():
    images, labels = jigsaw_pairs(64, seed=3)
    assert images.shape == (128, 3, 8, 8) and labels.tolist() == [1, 0] * 64
    assert torch.equal(seams_match(images, 4), labels.bool())


def test_jigsaw_twins_hold_the_same_tiles():
    images, _ = jigsaw_pairs(32, seed=1)
    solved, shuffled = tile_view(images[0::2], 4), tile_view(images[1::2], 4)
    for a, b in zip(solved.flatten(2, 3), shuffled.flatten(2, 3)):  # (C, 4 tiles, 4, 4)
        tiles_a = sorted(map(tuple, a.transpose(0, 1).flatten(1).tolist()))
        tiles_b = sorted(map(tuple, b.transpose(0, 1).flatten(1).tolist()))
        assert tiles_a == tiles_b


def test_jigsaw_is_deterministic_and_seed_dependent():
    a, _ = jigsaw_pairs(8, seed=5)
    b, _ = jigsaw_pairs(8, seed=5)
    c, _ = jigsaw_pairs(8, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_shuffle_tiles_identity_and_swap():
    x = torch.arange(2 * 64, dtype=torch.float32).view(2, 1, 8, 8)
    assert torch.equal(shuffle_tiles(x, torch.arange(4).repeat(2, 1), 4), x)
    swapped = shuffle_tiles(x, torch.tensor([[1, 0, 2, 3]] * 2), 4)
    assert torch.equal(swapped[..., :4, :4], x[..., :4, 4:])
    assert torch.equal(swapped[..., :4, 4:], x[..., :4, :4])


def _random_weights(model):
    # any weights at all, far from the small initialisation: the invariance is structural
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model.double().eval()  # float64: rounding stays far below the effects measured


def test_wmsa_only_gives_twins_the_same_logits():
    # the construction's promise: without shift every twin pair is indistinguishable
    seed_everything(0)
    images, _ = jigsaw_pairs(16, seed=0)
    model = _random_weights(_jigsaw_model(shift=False))
    with torch.no_grad():
        logits = model(images.double())
    assert logits.abs().max() > 0.1
    assert_close(logits[0::2], logits[1::2], rtol=0, atol=1e-10)


def test_one_shifted_block_tells_twins_apart():
    seed_everything(0)
    images, _ = jigsaw_pairs(16, seed=0)
    model = _random_weights(_jigsaw_model(shift=True))
    with torch.no_grad():
        logits = model(images.double())
    assert (logits[0::2] - logits[1::2]).abs().amax(1).min() > 1e-6  # every pair differs


def test_shift_switch():
    assert [b.shift_size for b in _jigsaw_model(shift=True).layers[0].blocks] == [0, 2]
    assert [b.shift_size for b in _jigsaw_model(shift=False).layers[0].blocks] == [0, 0]


@pytest.mark.parametrize("position, ape, table_trains",
                         [("relative", False, True), ("absolute", True, False),
                          ("both", True, True), ("none", False, False)])
def test_position_switch(position, ape, table_trains):
    model = _jigsaw_model(position=position)
    assert (model.absolute_pos_embed is not None) == ape
    for block in model.layers[0].blocks:
        table = block.attn.relative_position_bias_table
        assert table.requires_grad == table_trains
        assert (table.abs().sum() > 0) == table_trains


def test_no_relative_bias_means_zero_bias_even_after_training():
    seed_everything(0)
    images, labels = jigsaw_pairs(8, seed=0)
    model = _jigsaw_model(position="none")
    train(model, Split(images, labels, images, labels), epochs=1, batch_size=8)
    for block in model.layers[0].blocks:
        assert block.attn.relative_position_bias().abs().max() == 0


def test_position_rejects_unknown_value():
    with pytest.raises(ValueError, match="position='learned'"):
        tiny_swin(position="learned")


def test_mask_switch_changes_only_shifted_blocks():
    seed_everything(0)
    masked = _jigsaw_model(mask=True)
    unmasked = _jigsaw_model(mask=False)
    unmasked.load_state_dict(masked.state_dict())
    assert all(type(b.attn) is UnmaskedWindowAttention for b in unmasked.layers[0].blocks)
    assert all(type(b.attn) is WindowAttention for b in masked.layers[0].blocks)
    x = torch.randn(2, 8, 8, 16)
    w_block_m, sw_block_m = masked.layers[0].blocks
    w_block_u, sw_block_u = unmasked.layers[0].blocks
    with torch.no_grad():
        assert_close(w_block_m(x), w_block_u(x))  # W-MSA has no mask to drop
        assert not torch.allclose(sw_block_m(x), sw_block_u(x), atol=1e-4)


def test_unmasked_attention_equals_attention_without_mask():
    seed_everything(0)
    attn = WindowAttention(16, 4, 2)
    unmasked = UnmaskedWindowAttention(16, 4, 2)
    unmasked.load_state_dict(attn.state_dict())
    windows = torch.randn(4, 16, 16)
    mask = torch.zeros(4, 16, 16).masked_fill(torch.rand(4, 16, 16) > 0.5, -100.0)
    with torch.no_grad():
        assert_close(unmasked(windows, mask), attn(windows, None))
        assert not torch.allclose(attn(windows, mask), attn(windows, None))


def test_training_is_deterministic_under_a_seed():
    images, labels = jigsaw_pairs(16, seed=0)
    data = Split(images, labels, images, labels)
    first = run_seeds(lambda: _jigsaw_model(), data, seeds=(4,), epochs=2, batch_size=8)
    again = run_seeds(lambda: _jigsaw_model(), data, seeds=(4,), epochs=2, batch_size=8)
    other = run_seeds(lambda: _jigsaw_model(), data, seeds=(5,), epochs=2, batch_size=8)
    assert first[0].train_loss == again[0].train_loss
    assert first[0].test_acc == again[0].test_acc
    assert first[0].train_loss != other[0].train_loss


def test_without_the_curve_the_training_is_the_same_and_only_the_last_accuracy_is_kept():
    images, labels = jigsaw_pairs(16, seed=0)
    data = Split(images, labels, images[:12], labels[:12])
    with_curve = run_seeds(lambda: _jigsaw_model(), data, seeds=(4,), epochs=3, batch_size=8)[0]
    last_only = run_seeds(lambda: _jigsaw_model(), data, seeds=(4,), epochs=3, batch_size=8,
                          curve=False)[0]
    assert last_only.train_loss == with_curve.train_loss
    assert len(with_curve.test_acc) == 3
    assert last_only.test_acc == with_curve.test_acc[-1:]


def test_baselines_shapes():
    seed_everything(0)
    x = torch.randn(3, 1, 8, 8)
    assert TinyCNN()(x).shape == (3, 10)
    assert TinyViT()(x).shape == (3, 10)
    assert tiny_swin()(x).shape == (3, 10)
    with pytest.raises(ValueError, match="built for 64"):
        TinyViT()(torch.randn(1, 1, 16, 16))


def test_digits_split_is_fixed_and_standardised():
    data = digits_split()
    assert data.x_train.shape == (1347, 1, 8, 8) and data.x_test.shape == (450, 1, 8, 8)
    assert data.num_classes == 10
    assert abs(data.x_train.mean().item()) < 1e-5
    assert torch.equal(digits_split().y_test, data.y_test)


def test_mean_std():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([0.5]) == (0.5, 0.0)


def test_palette_has_distinct_colours():
    assert len({tuple(c) for c in PALETTE.tolist()}) == len(PALETTE)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="grid=1"):
        jigsaw_pairs(4, seed=0, grid=1)
    with pytest.raises(ValueError, match="num_pairs=0"):
        jigsaw_pairs(0, seed=0)
    with pytest.raises(ValueError, match="order has shape"):
        shuffle_tiles(torch.zeros(2, 1, 8, 8), torch.arange(4)[None], 4)
    with pytest.raises(ValueError, match="do not split into tiles"):
        tile_view(torch.zeros(1, 1, 8, 6), 4)
