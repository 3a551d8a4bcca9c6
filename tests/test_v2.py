"""Swin Transformer V2 (swin_edu.v2): parity with Hugging Face ``Swinv2`` and with the official
``models/swin_transformer_v2.py`` (transcribed below), the three V2 changes one by one, the
official state-dict names, and bad inputs.

Parity models are small (C=16, two blocks per stage so every stage has a shifted block) with
random weights strong enough that a wrong bias, scale, norm order or shift changes the logits,
in float64 so that the comparison measures the network and not rounding.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swin_edu.memory import using_memory_limit
from swin_edu.complexity import count_parameters
from swin_edu.convert import from_hf, load_checkpoint
from swin_edu.relative_position import relative_position_index
from swin_edu.v2 import (LOGIT_SCALE_MAX, BasicLayerV2, PatchMergingV2, SwinTransformerV2,
                         SwinTransformerV2Block, WindowAttentionV2, cosine_attention,
                         log_spaced_coords, swinv2_b, swinv2_s, swinv2_t, window_and_shift)

transformers = pytest.importorskip("transformers")

TINY = dict(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), window_size=8)


def _strengthen(model):
    """Random weights that make every V2 piece matter (see the module docstring)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "logit_scale" in name:
                p.uniform_(0.5, 5.0)  # some heads above the clamp at log(100) = 4.6
            elif "continuous_position_bias_mlp" in name or "cpb_mlp" in name:
                p.normal_(0, 0.5)
            elif any(part in name for part in ("query", "key")):
                p.normal_(0, 0.2)
            elif "norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.3)
            else:
                p.normal_(0, 0.05)
    return model.double().eval()


@functools.lru_cache(maxsize=8)
def _hf_state(image_size, pretrained=(0, 0, 0, 0), qkv_bias=True):
    model = hf_v2(image_size, pretrained, qkv_bias, fresh=True)
    return {k: v.clone() for k, v in _strengthen(model).state_dict().items()}


def hf_v2(image_size, pretrained=(0, 0, 0, 0), qkv_bias=True, fresh=False):
    """HF Swinv2ForImageClassification with the tiny config; HF fixes each layer's window and
    shift from ``image_size`` when it is built, so ``image_size`` is part of the model."""
    config = transformers.Swinv2Config(
        image_size=image_size, embed_dim=TINY["embed_dim"], depths=list(TINY["depths"]),
        num_heads=list(TINY["num_heads"]), window_size=TINY["window_size"], num_labels=10,
        pretrained_window_sizes=list(pretrained), qkv_bias=qkv_bias)
    model = transformers.Swinv2ForImageClassification(config)
    if fresh:
        return model
    model.load_state_dict(_hf_state(image_size, pretrained, qkv_bias))
    return model.double().eval()


def ours_from(hf, **overrides):
    model = SwinTransformerV2(**{**TINY, "num_classes": 10, **overrides}).double().eval()
    model.load_state_dict(from_hf(hf.state_dict()), strict=True)
    return model


def compare(hf, ours, size, batch=2):
    x = torch.randn(batch, 3, *size, dtype=torch.float64)
    with torch.no_grad():
        expected, got = hf(x).logits, ours(x)
    return (got - expected).abs().max().item(), expected.abs().max().item()


# (HF image_size, input size). HF decides windows and shifts from image_size // 4 // 2^i
# (floor) when built; the official rule reads the actual map (ceil). Sizes of multiples of 32
# agree at once; for the others, HF is built at the next multiple of 32, which gives the
# same decisions as the actual map.
PARITY = [
    (256, (256, 256)),  # no padding: 64, 32, 16, 8 (stage 4 one unshifted 8x8 window)
    ((256, 512), (256, 512)),  # non-square, no padding
    ((128, 256), (128, 256)),  # non-square, stage 4 is 4x8: the window shrinks to 4
    (224, (224, 224)),  # padded: stage 3 14 -> 16; stage 4 7x7: window shrinks to 7
    ((256, 320), (256, 320)),  # padded: stage 4 8x10 -> 8x16
    ((224, 352), (200, 328)),  # padded at every stage, odd sides (50x82 ... 7x11)
    (224, (200, 200)),  # padded at every stage (50 -> 56, 25 -> 32, 13 -> 16, 7)
]


def _ids(case):
    hf_size, size = case
    return "x".join(map(str, size)) + (f"-hf{hf_size}" if hf_size not in (size, size[0]) else "")


@pytest.mark.parametrize("case", PARITY, ids=[_ids(c) for c in PARITY])
def test_logits_equal_hugging_face(case):
    hf_size, size = case
    hf = hf_v2(hf_size)
    diff, scale = compare(hf, ours_from(hf), size)
    assert diff <= 1e-12 * max(scale, 1.0), diff


def test_pretrained_window_sizes_and_no_qkv_bias_equal_hugging_face():
    hf = hf_v2(256, pretrained=(6, 6, 6, 4))
    ours = ours_from(hf, pretrained_window_sizes=(6, 6, 6, 4))
    assert compare(hf, ours, (256, 256))[0] <= 1e-12
    hf = hf_v2(256, qkv_bias=False)
    ours = ours_from(hf, qkv_bias=False)
    assert ours.layers[0].blocks[0].attn.q_bias is None
    assert compare(hf, ours, (256, 256))[0] <= 1e-12


def test_tall_maps_hugging_face_differs_from_the_official_rule():
    """On a map taller than wide whose width fits one window (stage 4 of 512x256 is 16x8),
    the official V2 block does not shift; HF's rule reads only the height (16 > 8) and shifts.
    swin_edu follows the official code; with HF's shift set to the official rule, HF agrees."""
    hf = hf_v2((512, 256))
    ours = ours_from(hf)
    assert hf.swinv2.encoder.layers[3].blocks[1].shift_size == 4
    assert window_and_shift(16, 8, 8, 4) == (8, 0)
    assert compare(hf, ours, (512, 256))[0] > 1e-3
    hf.swinv2.encoder.layers[3].blocks[1].shift_size = 0
    assert compare(hf, ours, (512, 256))[0] <= 1e-12


def no_shift_in_stage_1(model):
    model.layers[0].blocks[1].shift_size = 0


def other_bias_scale_in_one_block(model):
    model.layers[1].blocks[0].attn.pretrained_window_size = 4


def pre_norm_in_one_block(model):
    block = model.layers[0].blocks[0]
    block.forward = lambda x: (lambda y: y + block.mlp(block.norm2(y)))(
        x + block.window_attention(block.norm1(x)))


@pytest.mark.parametrize("sabotage", [no_shift_in_stage_1, other_bias_scale_in_one_block,
                                      pre_norm_in_one_block])
def test_the_parity_test_can_fail(sabotage):
    hf = hf_v2(256)
    ours = ours_from(hf)
    sabotage(ours)
    diff, scale = compare(hf, ours, (256, 256))
    assert diff > 1e-3 * scale


def test_float32_agrees_too():
    hf = hf_v2(256).float()
    ours = ours_from(hf).float()
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        expected, got = hf(x).logits, ours(x)
    assert (got - expected).norm() / expected.norm() <= 1e-4


# --- the official V2 forward, transcribed over an official-keyed state dict ---------------

def _official_coords_table(ws, pretrained):
    h = torch.arange(-(ws - 1), ws, dtype=torch.float32)
    table = torch.stack(torch.meshgrid([h, h], indexing="ij")).permute(1, 2, 0).contiguous()[None]
    if pretrained > 0:
        table[:, :, :, 0] /= pretrained - 1
        table[:, :, :, 1] /= pretrained - 1
    else:
        table[:, :, :, 0] /= ws - 1
        table[:, :, :, 1] /= ws - 1
    table *= 8
    return torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / np.log2(8)


def _official_index(ws):
    coords = torch.stack(torch.meshgrid([torch.arange(ws), torch.arange(ws)], indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def _partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def _reverse(windows, ws, H, W):
    B = int(windows.shape[0] / (H * W / ws / ws))
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def _official_block(sd, p, x, res, heads, window_size, shift_size, pretrained):
    H, W = res
    if min(res) <= window_size:
        shift_size, window_size = 0, min(res)
    ws = window_size
    B, L, C = x.shape
    shortcut = x
    x = x.view(B, H, W, C)
    if shift_size > 0:
        x = torch.roll(x, shifts=(-shift_size, -shift_size), dims=(1, 2))
    xw = _partition(x, ws).view(-1, ws * ws, C)
    N = ws * ws
    qkv_bias = torch.cat((sd[p + "attn.q_bias"], torch.zeros_like(sd[p + "attn.v_bias"]),
                          sd[p + "attn.v_bias"]))
    qkv = F.linear(xw, sd[p + "attn.qkv.weight"], qkv_bias)
    q, k, v = qkv.reshape(xw.shape[0], N, 3, heads, -1).permute(2, 0, 3, 1, 4)
    attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
    attn = attn * torch.clamp(sd[p + "attn.logit_scale"],
                              max=torch.log(torch.tensor(1.0 / 0.01))).exp()
    table = _official_coords_table(ws, pretrained).to(x.dtype)
    hidden = F.relu(F.linear(table, sd[p + "attn.cpb_mlp.0.weight"], sd[p + "attn.cpb_mlp.0.bias"]))
    bias_table = F.linear(hidden, sd[p + "attn.cpb_mlp.2.weight"]).view(-1, heads)
    bias = bias_table[_official_index(ws).view(-1)].view(N, N, -1).permute(2, 0, 1)
    attn = attn + 16 * torch.sigmoid(bias)[None]
    if shift_size > 0:
        img_mask = torch.zeros((1, H, W, 1), dtype=x.dtype)
        slices = (slice(0, -ws), slice(-ws, -shift_size), slice(-shift_size, None))
        cnt = 0
        for h in slices:
            for w in slices:
                img_mask[:, h, w, :] = cnt
                cnt += 1
        mw = _partition(img_mask, ws).view(-1, N)
        mask = mw.unsqueeze(1) - mw.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        nW = mask.shape[0]
        attn = attn.view(-1, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, N, C)
    out = F.linear(out, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
    x = _reverse(out.view(-1, ws, ws, C), ws, H, W)
    if shift_size > 0:
        x = torch.roll(x, shifts=(shift_size, shift_size), dims=(1, 2))
    x = shortcut + F.layer_norm(x.reshape(B, H * W, C), (C,), sd[p + "norm1.weight"],
                                sd[p + "norm1.bias"])
    h = F.gelu(F.linear(x, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]))
    h = F.linear(h, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    return x + F.layer_norm(h, (C,), sd[p + "norm2.weight"], sd[p + "norm2.bias"])


def official_v2_forward(sd, images, depths, heads, window_size, pretrained=(0, 0, 0, 0)):
    x = F.conv2d(images, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=4)
    B, C, H, W = x.shape
    x = F.layer_norm(x.flatten(2).transpose(1, 2), (C,), sd["patch_embed.norm.weight"],
                     sd["patch_embed.norm.bias"])
    for i, depth in enumerate(depths):
        for j in range(depth):
            x = _official_block(sd, f"layers.{i}.blocks.{j}.", x, (H, W), heads[i], window_size,
                                0 if j % 2 == 0 else window_size // 2, pretrained[i])
        if i < len(depths) - 1:
            C = x.shape[-1]
            x = x.view(B, H, W, C)
            x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2],
                           x[:, 1::2, 1::2]], -1).view(B, -1, 4 * C)
            x = F.linear(x, sd[f"layers.{i}.downsample.reduction.weight"])
            x = F.layer_norm(x, (2 * C,), sd[f"layers.{i}.downsample.norm.weight"],
                             sd[f"layers.{i}.downsample.norm.bias"])
            H, W = H // 2, W // 2
    x = F.layer_norm(x, (x.shape[-1],), sd["norm.weight"], sd["norm.bias"]).mean(1)
    return F.linear(x, sd["head.weight"], sd["head.bias"])


# sizes where the official code runs (every stage a multiple of its window), tall included
@pytest.mark.parametrize("size", [(256, 256), (512, 256), (128, 256)],
                         ids=lambda s: "x".join(map(str, s)))
def test_logits_equal_the_official_code(size):
    ours = ours_from(hf_v2(256), pretrained_window_sizes=(6, 6, 6, 4))
    x = torch.randn(1, 3, *size, dtype=torch.float64)
    with torch.no_grad():
        expected = official_v2_forward(ours.state_dict(), x, TINY["depths"], TINY["num_heads"],
                                       8, (6, 6, 6, 4))
        got = ours(x)
    # 1e-7, not 1e-12: the official clamp bound torch.log(torch.tensor(100.0)) is a float32
    # number, 1.4e-8 below log(100), which moves tau of the clamped heads by that much
    assert (got - expected).abs().max().item() <= 1e-7 * expected.abs().max().item()


# --- the three changes, one by one ---------------------------------------------------------

def test_log_spaced_coords_are_the_official_table():
    for ws, pretrained in [(8, 0), (8, 6), (12, 0), (1, 0)]:
        expected = _official_coords_table(ws, pretrained).view(-1, 2)
        if ws == 1:
            expected = torch.zeros(1, 2)  # official: 0/0; HF and swin_edu: offset 0 -> 0
        torch.testing.assert_close(log_spaced_coords(ws, pretrained), expected)
    coords = log_spaced_coords(8)
    assert coords.shape == (15 ** 2, 2)
    torch.testing.assert_close(coords.abs().max(), torch.tensor(math.log2(9) / 3))  # dy = 7
    # rows follow relative_position_index: row of (dy, dx) = (dy + 7) * 15 + (dx + 7)
    def f(t):
        return math.copysign(math.log2(1 + abs(t) / 7 * 8) / 3, t)
    torch.testing.assert_close(coords[(2 + 7) * 15 + (-3 + 7)], torch.tensor([f(2), f(-3)]))
    assert torch.equal(_official_index(8), relative_position_index(8))
    # a window 3x the pre-training one reaches only 1.59: the log spacing
    torch.testing.assert_close(log_spaced_coords(24, 8).abs().max(),
                               torch.tensor(math.log2(1 + 23 / 7 * 8) / 3))


def test_position_bias_is_in_0_16_for_any_window():
    attn = _strengthen(WindowAttentionV2(16, 2))
    for ws in (1, 4, 7, 8, 12):
        bias = attn.relative_position_bias(ws)
        assert bias.shape == (2, ws * ws, ws * ws)
        assert (bias >= 0).all() and (bias <= 16).all() and bias.std() > 0.1


def test_logit_scale_is_clamped_at_100():
    q, k, v = torch.randn(3, 1, 2, 5, 4).unbind(0)
    high = cosine_attention(q, k, v, torch.full((2, 1, 1), 10.0))
    at_clamp = cosine_attention(q, k, v, torch.full((2, 1, 1), LOGIT_SCALE_MAX))
    torch.testing.assert_close(high, at_clamp)
    cos = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
    expected = (cos * 10.0).softmax(-1) @ v
    torch.testing.assert_close(cosine_attention(q, k, v, torch.full((2, 1, 1), math.log(10))),
                               expected)
    for fused in (True, False):  # the length of q and k no longer matters: cosines
        torch.testing.assert_close(cosine_attention(3 * q, 0.1 * k, v, torch.zeros(2, 1, 1),
                                                    fused=fused),
                                   cosine_attention(q, k, v, torch.zeros(2, 1, 1)))


def test_key_has_no_bias_and_fused_equals_explicit():
    attn = _strengthen(WindowAttentionV2(16, 2))
    windows = torch.randn(8, 16, 16, dtype=torch.float64)
    mask = torch.zeros(4, 16, 16, dtype=torch.float64)
    mask[1, :8, 8:] = mask[1, 8:, :8] = -100.0
    fused, explicit = attn(windows, mask), attn(windows, mask, fused=False)
    torch.testing.assert_close(fused, explicit)
    keys = {name for name, _ in attn.named_parameters()}
    assert {"q_bias", "v_bias", "logit_scale", "qkv.weight", "cpb_mlp.0.weight",
            "cpb_mlp.0.bias", "cpb_mlp.2.weight", "proj.weight"} <= keys
    assert "qkv.bias" not in keys and "cpb_mlp.2.bias" not in keys


def test_residual_post_norm():
    """norm inside the residual: the official init zeroes norm1/norm2, so a fresh block is
    the identity, whatever attention and MLP compute."""
    layer = BasicLayerV2(16, 2, 2, window_size=4).eval()
    layer.init_res_post_norm()
    block = layer.blocks[1]  # shifted
    x = torch.randn(2, 8, 8, 16)
    assert torch.equal(block(x), x)
    model = SwinTransformerV2(**SMALL)
    assert all(torch.equal(b.norm1.weight, torch.zeros(b.norm1.weight.shape))
               for layer in model.layers for b in layer.blocks)
    for norm in (block.norm1, block.norm2):
        torch.nn.init.ones_(norm.weight)
    with torch.no_grad():
        y = x + block.norm1(block.window_attention(x))
        torch.testing.assert_close(block(x), y + block.norm2(block.mlp(y)))


def test_patch_merging_reduces_then_normalises():
    merge = _strengthen(PatchMergingV2(8))
    x = torch.randn(2, 6, 10, 8, dtype=torch.float64)
    cat = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    torch.testing.assert_close(merge(x), merge.norm(merge.reduction(cat)))
    assert merge.norm.normalized_shape == (16,)
    assert merge(torch.randn(1, 5, 7, 8, dtype=torch.float64)).shape == (1, 3, 4, 16)


def test_window_rule():
    assert window_and_shift(64, 64, 8, 4) == (8, 4)
    assert window_and_shift(8, 8, 8, 4) == (8, 0)  # one window: no shift
    assert window_and_shift(7, 7, 8, 4) == (7, 0)  # smaller: the window shrinks
    assert window_and_shift(4, 10, 8, 4) == (4, 0)  # short side decides; 10 is padded to 12
    assert window_and_shift(16, 8, 8, 4) == (8, 0)  # official (HF would shift, see above)


# --- the model as a whole --------------------------------------------------------------------

def test_swinv2_t_s_b_parameter_counts_equal_hugging_face():
    """Swin-V2-T/S/B at 256, window 8: the same parameters and shapes as HF (on the meta
    device: no memory, no forward)."""
    configs = {swinv2_t: dict(), swinv2_s: dict(depths=[2, 2, 18, 2]),
               swinv2_b: dict(embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32])}
    counts = {}
    for factory, config in configs.items():
        with torch.device("meta"):
            ours = factory()
            hf = transformers.Swinv2ForImageClassification(transformers.Swinv2Config(
                image_size=256, window_size=8, num_labels=1000, **config))
        converted, own = from_hf(hf.state_dict()), ours.state_dict()
        assert set(converted) == set(own)
        assert all(converted[k].shape == own[k].shape for k in own)
        counts[factory.__name__] = count_parameters(ours)
        assert counts[factory.__name__] == sum(p.numel() for p in hf.parameters())
    # the paper's Table: 28M, 50M, 88M
    assert counts == {"swinv2_t": 28_347_154, "swinv2_s": 49_728_418, "swinv2_b": 87_918_816}


def test_factories_accept_overrides():
    with torch.device("meta"):
        model = swinv2_b(img_size=384, window_size=24, num_classes=10,
                         pretrained_window_sizes=(12, 12, 12, 6))
    assert model.window_size == 24 and model.head.out_features == 10
    assert model.layers[3].blocks[0].attn.pretrained_window_size == 6
    assert model.layers[0].blocks[1].shift_size == 12


def test_state_dict_uses_official_names_and_official_checkpoints_load(tmp_path):
    model = SwinTransformerV2(**TINY, num_classes=10)
    keys = set(model.state_dict())
    for key in ["patch_embed.proj.weight", "patch_embed.norm.weight",
                "layers.0.blocks.1.attn.logit_scale", "layers.0.blocks.1.attn.q_bias",
                "layers.0.blocks.1.attn.v_bias", "layers.0.blocks.1.attn.qkv.weight",
                "layers.0.blocks.1.attn.cpb_mlp.0.weight",
                "layers.0.blocks.1.attn.cpb_mlp.2.weight",
                "layers.0.blocks.1.attn.proj.bias", "layers.0.blocks.1.norm1.weight",
                "layers.0.blocks.1.mlp.fc2.bias", "layers.0.downsample.reduction.weight",
                "layers.2.downsample.norm.bias", "norm.weight", "head.weight"]:
        assert key in keys, key
    assert model.layers[0].downsample.norm.weight.shape == (32,)  # 2C: after the reduction
    assert not any(k.endswith(("relative_coords_table", "relative_position_index", "attn_mask"))
                   for k in keys)
    # an official checkpoint also holds the derived buffers: they are recomputed, not loaded
    official = dict(_strengthen(SwinTransformerV2(**TINY, num_classes=10)).state_dict())
    official["layers.0.blocks.0.attn.relative_coords_table"] = torch.zeros(1, 15, 15, 2)
    official["layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(64, 64).long()
    official["layers.0.blocks.1.attn_mask"] = torch.zeros(64, 64, 64)
    fresh = SwinTransformerV2(**TINY, num_classes=10).double()
    fresh.load_state_dict(official, strict=True)
    assert torch.equal(fresh.head.weight, official["head.weight"])
    torch.save({"model": official}, tmp_path / "swinv2_tiny.pth")
    loaded = load_checkpoint(SwinTransformerV2(**TINY, num_classes=10).double(),
                             tmp_path / "swinv2_tiny.pth")
    assert torch.equal(loaded.layers[0].blocks[0].attn.cpb_mlp[0].weight,
                       official["layers.0.blocks.0.attn.cpb_mlp.0.weight"])
    hf_loaded = load_checkpoint(SwinTransformerV2(**TINY, num_classes=10).double(),
                                hf_v2(256).state_dict())  # HF keys are converted on the way
    assert torch.equal(hf_loaded.head.weight, hf_v2(256).classifier.weight)


def test_any_size_batch_independent_and_stateless():
    model = _strengthen(SwinTransformerV2(**TINY, num_classes=10))
    x = torch.randn(3, 3, 64, 96, dtype=torch.float64)
    with torch.no_grad():
        before = model(x)
        for size in [(8, 8), (30, 18), (100, 36)]:
            out = model(torch.randn(1, 3, *size, dtype=torch.float64))
            assert out.shape == (1, 10) and torch.isfinite(out).all()
        torch.testing.assert_close(model(x[1:2]), before[1:2])
        assert torch.equal(model(x), before)


def test_trains_and_features_without_head():
    model = SwinTransformerV2(img_size=32, embed_dim=8, depths=(2, 2), num_heads=(1, 2),
                              window_size=4, num_classes=3)
    out = model(torch.randn(2, 3, 32, 32))
    out.sum().backward()
    assert model.layers[0].blocks[0].attn.logit_scale.grad is not None
    assert model.layers[0].blocks[1].attn.cpb_mlp[0].weight.grad is not None
    features = SwinTransformerV2(img_size=32, embed_dim=8, depths=(2, 2), num_heads=(1, 2),
                                 window_size=4, num_classes=0)
    assert features(torch.randn(2, 3, 32, 32)).shape == (2, 16)


def test_from_hf_v2_rejects_what_it_cannot_convert():
    with pytest.raises(ValueError, match="unrecognised Hugging Face Swin V2 key"):
        from_hf({"swinv2.encoder.layers.0.blocks.0.attention.self.nope": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"only \['q'\] of query/key/value"):
        from_hf({"swinv2.encoder.layers.0.blocks.0.attention.self.query.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="no key bias"):
        from_hf({"swinv2.encoder.layers.0.blocks.0.attention.self.key.bias": torch.zeros(1)})


# --- bad inputs: every public callable of swin_edu.v2 (as tests/test_bad_inputs.py walks the
# V1 modules); each bad call raises ValueError/TypeError naming the argument -----------------

NAN = float("nan")
ATTN = WindowAttentionV2(8, 2)
SMALL = dict(img_size=32, embed_dim=8, depths=(2, 2), num_heads=(1, 2), window_size=4,
             num_classes=5)
TINY_MODEL = SwinTransformerV2(**SMALL)
Q = torch.zeros(1, 2, 4, 4)
BAD = {
    "size": [0, -1, 2.5, True, None, "8", NAN],
    "count": [-1, 2.5, True, None, "8"],
    "shift": [-1, 1.5, True, None, "1", 99],
    "prob": [-0.5, 1.5, 1.0, NAN, None, "0.1", True],
    "ratio": [0, -1.0, 0.001, NAN, None, "4"],
    "bool": [None, "yes", 1, 0.0],
    "classes": [-1, 2.5, None, True, "5"],
    "depths": [None, (), (2, -1), (2.5, 2), "22", (True, 2)],
    "heads": [None, (0, 2), (1,), (1.5, 2), "12"],
    "pretrained": [(0,), (0, -1), (0, 1.5), "00", 5],
    "qk": [None, torch.zeros(4), torch.zeros(1, 2, 4, 4, dtype=torch.long),
           torch.zeros(1, 2, 4, 5)],
    "v": [None, torch.zeros(4), torch.zeros(1, 2, 4, 4, dtype=torch.long), torch.zeros(1, 2, 5, 4)],
    "scale": [None, torch.zeros(3, 1, 1), torch.zeros(2), torch.zeros(2, 1, 1, dtype=torch.long)],
    "windows": [None, torch.zeros(8, 8), torch.zeros(2, 15, 8), torch.zeros(2, 16, 4),
                torch.zeros(2, 16, 8, dtype=torch.float64)],
    "mask": [torch.zeros(4, 16, 16, dtype=torch.long), torch.zeros(16, 16), torch.zeros(4, 9, 9),
             torch.zeros(3, 16, 16)],
    "tensor4": [None, [[0.0]], torch.zeros(8, 8), torch.zeros(1, 1, 8, 8, 8),
                torch.zeros(1, 8, 8, 4)],
    "image": [None, torch.zeros(3, 32, 32), torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
              torch.zeros(1, 3, 32, 32, dtype=torch.float64), torch.zeros(1, 4, 32, 32)],
}
SPECS = [
    (log_spaced_coords, dict(window_size=4, pretrained_window_size=0),
     dict(window_size="size", pretrained_window_size="count")),
    (window_and_shift, dict(H=8, W=8, window_size=4, shift_size=2),
     dict(H="size", W="size", window_size="size", shift_size="shift")),
    (cosine_attention, dict(q=Q, k=Q, v=Q, logit_scale=torch.zeros(2, 1, 1), bias=None,
                            dropout_p=0.0, fused=True),
     dict(q="qk", k="qk", v="v", logit_scale="scale", dropout_p="prob", fused="bool")),
    (WindowAttentionV2, dict(dim=8, num_heads=2, qkv_bias=True, attn_drop=0.0, proj_drop=0.0,
                             pretrained_window_size=0),
     dict(dim="size", num_heads="size", qkv_bias="bool", attn_drop="prob", proj_drop="prob",
          pretrained_window_size="count")),
    (lambda windows, mask=None, fused=True: ATTN(windows, mask, fused),
     dict(windows=torch.zeros(8, 16, 8), mask=torch.zeros(4, 16, 16), fused=True),
     dict(windows="windows", mask="mask", fused="bool")),
    (lambda window_size: ATTN.relative_position_bias(window_size), dict(window_size=4),
     dict(window_size="size")),
    (SwinTransformerV2Block, dict(dim=8, num_heads=2, window_size=4, shift_size=2,
                                  mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0,
                                  drop_path=0.0, pretrained_window_size=0),
     dict(dim="size", num_heads="size", window_size="size", shift_size="shift",
          mlp_ratio="ratio", qkv_bias="bool", drop="prob", attn_drop="prob", drop_path="prob",
          pretrained_window_size="count")),
    (lambda x: SwinTransformerV2Block(8, 2, 4, 2)(x), dict(x=torch.zeros(1, 8, 8, 8)),
     dict(x="tensor4")),
    (PatchMergingV2, dict(dim=8), dict(dim="size")),
    (lambda x: PatchMergingV2(8)(x), dict(x=torch.zeros(1, 8, 8, 8)), dict(x="tensor4")),
    (BasicLayerV2, dict(dim=8, depth=2, num_heads=2, window_size=4, mlp_ratio=4.0,
                        qkv_bias=True, drop=0.0, attn_drop=0.0, drop_path=0.0,
                        downsample=True, pretrained_window_size=0),
     dict(dim="size", depth="size", num_heads="size", window_size="size", mlp_ratio="ratio",
          qkv_bias="bool", drop="prob", attn_drop="prob", drop_path="prob", downsample="bool",
          pretrained_window_size="count")),
    (SwinTransformerV2, dict(SMALL, patch_size=4, in_chans=3, mlp_ratio=4.0, qkv_bias=True,
                             drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1,
                             patch_norm=True, pretrained_window_sizes=(0, 0)),
     dict(img_size="size", patch_size="size", in_chans="size", num_classes="classes",
          embed_dim="size", depths="depths", num_heads="heads", window_size="size",
          mlp_ratio="ratio", qkv_bias="bool", drop_rate="prob", attn_drop_rate="prob",
          drop_path_rate="prob", patch_norm="bool", pretrained_window_sizes="pretrained")),
    (lambda images: TINY_MODEL(images), dict(images=torch.zeros(1, 3, 32, 32)),
     dict(images="image")),
] + [(factory, dict(num_classes=10), dict(num_classes="classes", window_size="size",
                                           mlp_ratio="ratio", drop_path_rate="prob"))
     for factory in (swinv2_t, swinv2_s, swinv2_b)]


def _names_argument(message, arg):
    import re
    return re.search(rf"(^|[^\w.]){re.escape(arg)}(\[\d+\])?(=|\s|\[|\.|$)", message) is not None


def _bad_calls():
    cases = []
    for fn, valid, kinds in SPECS:
        name = getattr(fn, "__name__", "fn")
        for arg, kind in kinds.items():
            for i, bad in enumerate(BAD[kind]):
                cases.append(pytest.param(fn, {**valid, arg: bad}, arg, id=f"{name}-{arg}-{i}"))
    return cases


@pytest.mark.parametrize("fn, kwargs, arg", _bad_calls())
def test_bad_argument_gets_a_clear_message(fn, kwargs, arg):
    with pytest.raises((ValueError, TypeError)) as error:
        fn(**kwargs)
    assert _names_argument(str(error.value), arg), str(error.value)


@pytest.mark.parametrize("fn, kwargs", [pytest.param(fn, valid, id=str(i)) for i, (fn, valid, _)
                                        in enumerate(SPECS) if fn not in (swinv2_s, swinv2_b)])
def test_valid_calls_run(fn, kwargs):
    fn(**kwargs)


def test_every_public_name_is_covered():
    import swin_edu.v2 as v2
    covered = {getattr(fn, "__name__", "") for fn, _, _ in SPECS}
    constants = {"LOGIT_SCALE_MAX", "CPB_HIDDEN"}
    assert set(v2.__all__) - constants - covered == set()


def test_huge_requests_are_refused():
    with using_memory_limit("4GiB"), pytest.raises(ValueError, match="would need .* GiB"):
        TINY_MODEL(torch.zeros(1, 1, 1, 1).expand(1, 3, 50_000, 50_000))
