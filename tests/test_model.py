import pytest
import torch

from swin_edu.complexity import count_parameters
from swin_edu.model import (BasicLayer, SwinTransformer, SwinTransformerBlock, effective_shift, stage_shapes,
                            swin_b, swin_t)


def tiny(**kw):
    return SwinTransformer(img_size=32, embed_dim=8, depths=(2, 2), num_heads=(1, 2),
                           window_size=2, num_classes=5, **kw).eval()


def test_swin_t_has_the_reference_parameter_count():
    assert count_parameters(swin_t()) == 28_288_354  # timm, torchvision and HF agree


def test_state_dict_uses_official_names():
    keys = set(swin_t().state_dict())
    for key in ["patch_embed.proj.weight", "patch_embed.norm.weight",
                "layers.0.blocks.1.attn.relative_position_bias_table",
                "layers.0.blocks.1.attn.qkv.weight", "layers.0.blocks.1.mlp.fc2.bias",
                "layers.0.downsample.reduction.weight", "layers.2.downsample.norm.bias",
                "norm.weight", "head.weight"]:
        assert key in keys, key
    assert not any("relative_position_index" in k for k in keys)
    assert "layers.3.downsample.reduction.weight" not in keys


def test_blocks_alternate_w_msa_and_sw_msa():
    shifts = [block.shift_size for block in swin_t().layers[2].blocks]
    assert shifts == [0, 3, 0, 3, 0, 3]


def test_swin_t_at_224_last_stage_is_one_unshifted_window():
    assert effective_shift(7, 7, 7, 3) == (0, 0)
    assert effective_shift(14, 7, 7, 3) == (0, 0)  # official: short side fits one window
    assert effective_shift(14, 7, 7, 3, "per_axis") == (3, 0)  # torchvision


@pytest.mark.parametrize("size", [(32, 32), (24, 40), (30, 18), (8, 8)])
def test_any_input_size_gives_finite_logits(size):
    with torch.no_grad():
        out = tiny()(torch.randn(2, 3, *size))
    assert out.shape == (2, 5) and torch.isfinite(out).all()


def test_batch_elements_are_independent():
    model = tiny()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[1:2], model(x[1:2]), rtol=1e-5, atol=1e-6)


def test_factories_accept_overrides():
    with torch.device("meta"):
        model = swin_b(img_size=384, window_size=12, num_classes=10)
    assert model.window_size == 12 and model.head.out_features == 10
    assert model.layers[0].blocks[1].attn.relative_position_bias_table.shape == (23 ** 2, 4)


def test_stage_shapes_swin_t_224():
    shapes = [step["shape"] for step in stage_shapes("T", 224)]
    assert shapes == [(1, 3, 224, 224), (1, 56, 56, 96), (1, 56, 56, 96), (1, 28, 28, 192),
                      (1, 28, 28, 192), (1, 14, 14, 384), (1, 14, 14, 384), (1, 7, 7, 768),
                      (1, 7, 7, 768), (1, 768)]


def test_stage_shapes_match_a_forward_pass():
    model = tiny()
    captured = []
    for layer in model.layers:
        layer.register_forward_hook(lambda m, i, o: captured.append(tuple(i[0].shape)))
    with torch.no_grad():
        model(torch.randn(1, 3, 36, 20))
    stages = [s["shape"] for s in stage_shapes(model, (36, 20)) if s["name"].startswith("stage")]
    assert captured == stages


def test_ape_adds_absolute_position_embedding():
    model = tiny(ape=True)
    assert model.absolute_pos_embed.shape == (1, 64, 8)
    with pytest.raises(ValueError, match="ape=True needs images of img_size=32"):
        model(torch.randn(1, 3, 16, 16))


@pytest.mark.parametrize("call, message", [
    (lambda: SwinTransformerBlock(8, 2, window_size=4, shift_size=4), "shift_size=4"),
    (lambda: SwinTransformerBlock(8, 2, window_size=4, shift_size=1.5), "shift_size=1.5"),
    (lambda: SwinTransformerBlock(8, 2, window_size=4, mlp_ratio=0), "mlp_ratio=0"),
    (lambda: SwinTransformerBlock(8, 2, window_size=4, drop_path=1.0), "drop_path=1.0"),
    (lambda: BasicLayer(8, 3, 2, 4, drop_path=[0.1]), "drop_path has 1 rates"),
    (lambda: BasicLayer(8, 0, 2, 4), "depth=0"),
    (lambda: SwinTransformer(depths=(), num_heads=()), "at least one stage"),
    (lambda: SwinTransformer(num_classes=-3), "num_classes=-3"),
    (lambda: SwinTransformer(depths=(2, 2), num_heads=(1,)), "one entry per stage"),
    (lambda: SwinTransformer(window_size=0), "window_size=0"),
    (lambda: stage_shapes("X", 224), "variant='X'"),
    (lambda: stage_shapes("T", 0), "image_size=0"),
    (lambda: tiny()(torch.randn(3, 32, 32)), "expected rank 4"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_stage_shapes_use_the_models_input_channels():
    model = SwinTransformer(img_size=32, in_chans=1, embed_dim=8, depths=(2,), num_heads=(1,),
                            window_size=4)
    assert stage_shapes(model, 32)[0]["shape"] == (1, 1, 32, 32)


def test_a_block_compiles_as_one_graph_without_cache_warnings():
    """``torch.compile`` traces a whole SW-MSA block (roll, partition, mask, attention, reverse)
    as one graph; the lru_cache'd permutation the model once used made Dynamo warn there."""
    import warnings
    block = SwinTransformerBlock(8, 2, window_size=4, shift_size=2).eval()
    x = torch.randn(2, 8, 12, 8)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        compiled = torch.compile(block, backend="eager", fullgraph=True)
        assert torch.equal(compiled(x), block(x))
    assert not [w for w in caught if "lru_cache" in str(w.message)]


def test_always_rule_shifts_a_stage_that_fits_in_one_window():
    official, always = tiny(), tiny(shift_rule="always")
    always.load_state_dict(official.state_dict())
    x = torch.randn(1, 3, 8, 8)  # stages 2x2 and 1x1 with window 2: one window each
    with torch.no_grad():
        assert not torch.allclose(official(x), always(x))
        x = torch.randn(1, 3, 40, 40)  # stages 10x10 and 5x5: larger than one window
        torch.testing.assert_close(official(x), always(x), rtol=0, atol=0)
