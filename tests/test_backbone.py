"""The detection backbone (swin_edu.backbone): four maps equal to Hugging Face ``SwinBackbone``'s
(the official detection backbone's behaviour) at classification and detection sizes, the
official ``norm0..norm3`` names, and patch merging as a stride-2 convolution (official
issue #256).

Float64 and strong random weights, as tests/test_convert.py; small configs (C=16, two blocks
per stage) for the large sizes.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from swin_edu.memory import using_memory_limit
from swin_edu.backbone import STRIDES, SwinBackbone
from swin_edu.convert import from_hf, load_checkpoint
from swin_edu.model import SwinTransformer, swin_t
from swin_edu.patches import PatchMerging, merge_patches
from swin_edu.v2 import PatchMergingV2

transformers = pytest.importorskip("transformers")

STAGES = ["stage1", "stage2", "stage3", "stage4"]
TINY = dict(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4))


def _strengthen(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "relative_position_bias_table" in name:
                p.normal_(0, 1.0)
            elif any(part in name for part in ("q_proj", "k_proj", "query", "key")):
                p.normal_(0, 0.2)
            elif "norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
            else:
                p.normal_(0, 0.05)
    return model.double().eval()


@functools.lru_cache(maxsize=2)
def hf_backbone(tiny=True):
    config = transformers.SwinConfig(out_features=STAGES, **(
        {k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()} if tiny else {}))
    return _strengthen(transformers.SwinBackbone(config))


def ours_from(hf, tiny=True):
    model = SwinBackbone("swin_t", **(TINY if tiny else {})).double().eval()
    model.load_state_dict(from_hf(hf.state_dict()), strict=True)
    return model


def stage_differences(hf, ours, size):
    x = torch.randn(1, 3, *size, dtype=torch.float64)
    with torch.no_grad():
        expected, got = hf(x).feature_maps, ours(x)
    assert len(got) == 4
    assert [m.shape for m in got] == [m.shape for m in expected]
    return [((g - e).abs().max() / e.abs().max()).item() for g, e in zip(got, expected)]


# 224: stage 4 is one 7x7 window, shifted by the detection code; 256: padded at every stage
# (64 -> 70, 32 -> 35, 16 -> 21, 8 -> 14); 224x320: non-square; 100x116: odd sides and a
# stage smaller than the window (4x4); 800x1216: a detection size (200x304 ... 25x38, padded).
SIZES = [(224, 224), (256, 256), (224, 320), (100, 116), (192, 192), (800, 1216)]


def test_swin_t_maps_equal_hugging_face_at_224():
    hf = hf_backbone(tiny=False)
    assert max(stage_differences(hf, ours_from(hf, tiny=False), (224, 224))) <= 1e-10


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "x".join(map(str, s)))
def test_maps_equal_hugging_face(size):
    hf = hf_backbone()
    assert max(stage_differences(hf, ours_from(hf), size)) <= 1e-10


def test_single_window_stages_shift_as_the_detection_code():
    """At 224 stage 4 is one 7x7 window: the classifier's rule (``"official"``) does not shift
    it, the detection backbone and HF's SwinBackbone (``"always"``, the default) do."""
    hf = hf_backbone()
    ours = ours_from(hf)
    classifier_rule = SwinBackbone("swin_t", shift_rule="official", **TINY).double().eval()
    classifier_rule.load_state_dict(ours.state_dict())
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        always, official = ours(x), classifier_rule(x)
    for i in range(3):  # stages of 56, 28, 14: larger than a window, both rules shift
        torch.testing.assert_close(always[i], official[i])
    assert (always[3] - official[3]).abs().max() > 1e-3 * always[3].abs().max()


def test_backbone_starts_from_a_classifier():
    """Built from a model, the backbone copies its stages; with the model's final norm as
    norm3, the mean of the last map is the model's pooled features (at 256 every stage is
    larger than a window: the shift rules agree)."""
    model = _strengthen(SwinTransformer(img_size=256, num_classes=0, **TINY))
    backbone = SwinBackbone(model).double().eval()
    backbone.norm3.load_state_dict(model.norm.state_dict())
    x = torch.randn(2, 3, 256, 256, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(backbone(x)[3].mean(dim=(2, 3)), model.forward_features(x))
        backbone.layers[0].blocks[0].norm1.weight.zero_()  # a copy: the model is untouched
    assert model.layers[0].blocks[0].norm1.weight.abs().sum() > 0
    assert all(block.shift_rule == "official" for layer in model.layers for block in layer.blocks)


def test_shapes_strides_and_channels():
    backbone = SwinBackbone("swin_t", **TINY).eval()
    assert backbone.out_channels == [16, 32, 64, 128] and STRIDES == (4, 8, 16, 32)
    with torch.no_grad():
        maps = backbone(torch.randn(2, 3, 97, 130))
    assert [tuple(m.shape) for m in maps] == [(2, 16, 25, 33), (2, 32, 13, 17), (2, 64, 7, 9),
                                               (2, 128, 4, 5)]
    assert all(m.is_contiguous() for m in maps)


def test_state_dict_uses_the_official_detection_names():
    with torch.device("meta"):
        keys = set(SwinBackbone("swin_t").state_dict())
    for key in ["patch_embed.proj.weight", "patch_embed.norm.bias",
                "layers.0.blocks.1.attn.relative_position_bias_table",
                "layers.0.blocks.1.attn.qkv.weight", "layers.2.downsample.reduction.weight",
                "norm0.weight", "norm1.bias", "norm2.weight", "norm3.bias"]:
        assert key in keys, key
    assert "norm.weight" not in keys and not any(k.startswith("head") for k in keys)
    assert "layers.3.downsample.reduction.weight" not in keys


def test_from_hf_backbone_keys_old_and_new_and_load_checkpoint():
    hf = hf_backbone()
    converted = from_hf(hf.state_dict())
    assert {k for k in converted if k.startswith("norm")} == {
        f"norm{i}.{p}" for i in range(4) for p in ("weight", "bias")}
    assert torch.equal(converted["norm2.weight"], hf.hidden_states_norms.stage3.weight)
    # transformers 4.x kept the body at the top level (embeddings., encoder.)
    old = {k.removeprefix("swin."): v for k, v in hf.state_dict().items()}
    assert from_hf(old).keys() == converted.keys()
    loaded = load_checkpoint(SwinBackbone("swin_t", **TINY).double(), hf.state_dict())
    assert torch.equal(loaded.norm3.bias, hf.hidden_states_norms.stage4.bias)
    with pytest.raises(ValueError, match="hidden_states_norms.stage1 ... stage4"):
        from_hf({"hidden_states_norms.stem.weight": torch.zeros(1)})


@pytest.mark.parametrize("kwargs, arg", [
    (dict(variant="X"), "variant"), (dict(variant="T"), "variant"),
    (dict(variant=None), "variant"), (dict(variant=5), "variant"),
    (dict(variant="swin_t", num_classes=10), "num_classes"),
    (dict(variant="swin_t", window_size=0), "window_size"),
    (dict(variant="swin_t", drop_path_rate=2.0), "drop_path_rate"),
])
def test_bad_arguments_get_a_clear_message(kwargs, arg):
    with pytest.raises((ValueError, TypeError), match=rf"(^|\W){arg}\b"):
        SwinBackbone(**kwargs)


def test_bad_models_and_images_are_refused():
    with pytest.raises(ValueError, match="overrides"):
        SwinBackbone(swin_t(), window_size=12)
    with pytest.raises(ValueError, match="ape=True"):
        SwinBackbone(SwinTransformer(img_size=32, ape=True, **TINY))
    for rule in ["detection", None, 5]:
        with pytest.raises(ValueError, match="shift_rule="):
            SwinBackbone("swin_t", shift_rule=rule)
    backbone = SwinBackbone("swin_t", **TINY)
    for images in [torch.zeros(3, 32, 32), torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
                   torch.zeros(1, 3, 32, 32, dtype=torch.float64), torch.zeros(1, 4, 32, 32)]:
        with pytest.raises((ValueError, TypeError), match="images"):
            backbone(images)
    with using_memory_limit("4GiB"), pytest.raises(ValueError, match="would need .* GiB"):
        backbone(torch.zeros(1, 1, 1, 1).expand(1, 3, 50_000, 50_000))


# --- patch merging is a stride-2 2x2 convolution (official issue #256) ----------------------

def reduction_as_conv_weight(reduction_weight: torch.Tensor) -> torch.Tensor:
    """``reduction.weight`` ``(2C, 4C)`` -> ``Conv2d`` weight ``(2C, C, 2, 2)``.

    The 4C inputs are the four tokens in the official order x0 = (0, 0), x1 = (1, 0),
    x2 = (0, 1), x3 = (1, 1) as (row offset dy, column offset dx): token k sits at
    dy = k % 2, dx = k // 2, so the 4C axis reads ``(dx dy c)``::

        conv[o, c, dy, dx] = reduction[o, (2 * dx + dy) * C + c]
    """
    return rearrange(reduction_weight, "o (dx dy c) -> o c dy dx", dx=2, dy=2)


def test_patch_merging_reduction_is_a_stride_2_convolution():
    C = 8
    merging = PatchMerging(C).double()
    x = torch.randn(2, 6, 10, C, dtype=torch.float64)  # (B, H, W, C)
    weight = reduction_as_conv_weight(merging.reduction.weight)
    conv = F.conv2d(x.permute(0, 3, 1, 2), weight, stride=2).permute(0, 2, 3, 1)
    torch.testing.assert_close(merging.reduction(merge_patches(x)), conv)
    # the same weight written out with view/permute: (o, dx, dy, c) -> (o, c, dy, dx)
    assert torch.equal(weight, merging.reduction.weight.view(2 * C, 2, 2, C).permute(0, 3, 2, 1))
    # V1 normalises the 4C vector of each 2x2 block first: a conv of the block-normalised map
    blocks = rearrange(x, "b (h dy) (w dx) c -> b h w (dx dy c)", dy=2, dx=2)
    normed = rearrange(merging.norm(blocks), "b h w (dx dy c) -> b c (h dy) (w dx)", dy=2, dx=2)
    torch.testing.assert_close(merging(x), F.conv2d(normed, weight, stride=2).permute(0, 2, 3, 1))


def test_v2_patch_merging_is_a_convolution_then_layernorm():
    """V2's reduction-then-norm order makes patch merging exactly Conv2d(C, 2C, 2, stride 2,
    no bias) followed by a LayerNorm over channels."""
    C = 8
    merging = PatchMergingV2(C).double()
    with torch.no_grad():
        merging.norm.weight.normal_(1, 0.2)
        merging.norm.bias.normal_(0, 0.2)
    x = torch.randn(2, 6, 10, C, dtype=torch.float64)
    conv = F.conv2d(x.permute(0, 3, 1, 2), reduction_as_conv_weight(merging.reduction.weight),
                    stride=2).permute(0, 2, 3, 1)
    torch.testing.assert_close(merging(x), merging.norm(conv))
