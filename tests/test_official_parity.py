"""swin_edu equals the official code's rules at non-square and padded sizes.

The official classification model (microsoft/Swin-Transformer, ``models/swin_transformer.py``)
fixes each block's window and shift in ``SwinTransformerBlock.__init__`` from the stage's
``input_resolution``. This file writes that code out again, independently of swin_edu, as a
functional forward over an official-keyed state dict, and checks swin_edu against it at sizes
where the official code runs (every stage divisible by the window). It also checks the
``"per_axis"`` option against torchvision's rule.

The official detection backbone (microsoft/Swin-Transformer-Object-Detection) pads every stage
to whole windows and shifts every odd block whatever the map's size; its transcription is
``tests/oracles/detection_swin.py``. swin_edu with ``shift_rule="always"`` equals it at every
size, and with the default rule wherever every stage exceeds one window; Hugging Face (a fresh
model: it changes its layers on the first call) equals the default rule wherever it runs.
"""

import functools

import pytest
import torch
import torch.nn.functional as F

from swin_edu.convert import from_hf
from swin_edu.model import SHIFT_RULES, SwinTransformer, effective_shift, stage_shapes, swin_t

from oracles import detection_swin
from test_convert import hf_model, ours_from, relative_error, transformers


def official_window_and_shift(input_resolution, window_size, shift_size):
    """Verbatim logic of the official ``SwinTransformerBlock.__init__``."""
    if min(input_resolution) <= window_size:
        # if window size is larger than input resolution, we don't partition windows
        shift_size = 0
        window_size = min(input_resolution)
    return window_size, shift_size


def torchvision_shift(pad_h, pad_w, window_size, shift_size):
    """Verbatim logic of torchvision's ``shifted_window_attention``."""
    shift = [shift_size, shift_size]
    if window_size >= pad_h:
        shift[0] = 0
    if window_size >= pad_w:
        shift[1] = 0
    return tuple(shift)


# --- the official forward, transcribed (B, L, C) as the official code keeps it ---------------

def _partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def _reverse(windows, ws, H, W):
    B = int(windows.shape[0] / (H * W / ws / ws))
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def _index(ws):
    coords = torch.stack(torch.meshgrid([torch.arange(ws), torch.arange(ws)], indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def _attn_mask(H, W, ws, shift):
    img_mask = torch.zeros((1, H, W, 1))
    slices = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = _partition(img_mask, ws).view(-1, ws * ws)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)


def _window_attention(sd, p, x, ws, heads, mask):
    B_, N, C = x.shape
    qkv = F.linear(x, sd[p + "qkv.weight"], sd[p + "qkv.bias"])
    qkv = qkv.reshape(B_, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = (q * (C // heads) ** -0.5) @ k.transpose(-2, -1)
    table = sd[p + "relative_position_bias_table"]
    bias = table[_index(ws).view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
    attn = attn + bias.unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, heads, N, N) + mask.to(attn).unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, N, N)
    x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B_, N, C)
    return F.linear(x, sd[p + "proj.weight"], sd[p + "proj.bias"])


def _block(sd, p, x, resolution, window_size, shift_size, heads):
    ws, shift = official_window_and_shift(resolution, window_size, shift_size)
    H, W = resolution
    B, L, C = x.shape
    shortcut = x
    x = F.layer_norm(x, (C,), sd[p + "norm1.weight"], sd[p + "norm1.bias"]).view(B, H, W, C)
    if shift > 0:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    windows = _partition(x, ws).view(-1, ws * ws, C)
    mask = _attn_mask(H, W, ws, shift) if shift > 0 else None
    windows = _window_attention(sd, p + "attn.", windows, ws, heads, mask).view(-1, ws, ws, C)
    x = _reverse(windows, ws, H, W)
    if shift > 0:
        x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
    x = shortcut + x.view(B, H * W, C)
    y = F.layer_norm(x, (C,), sd[p + "norm2.weight"], sd[p + "norm2.bias"])
    y = F.linear(F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])),
                 sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    return x + y


def _merge(sd, p, x, resolution):
    H, W = resolution
    B, L, C = x.shape
    x = x.view(B, H, W, C)
    x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    x = F.layer_norm(x.view(B, -1, 4 * C), (4 * C,), sd[p + "norm.weight"], sd[p + "norm.bias"])
    return F.linear(x, sd[p + "reduction.weight"])


def official_forward(sd, images, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), window_size=7):
    """The official SwinTransformer.forward for an image of its own ``img_size=(H, W)``."""
    x = F.conv2d(images, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=4)
    resolution = tuple(x.shape[-2:])
    x = x.flatten(2).transpose(1, 2)
    x = F.layer_norm(x, (x.shape[-1],), sd["patch_embed.norm.weight"], sd["patch_embed.norm.bias"])
    for i, depth in enumerate(depths):
        for j in range(depth):
            x = _block(sd, f"layers.{i}.blocks.{j}.", x, resolution, window_size,
                       0 if j % 2 == 0 else window_size // 2, heads[i])
        if i < len(depths) - 1:
            x = _merge(sd, f"layers.{i}.downsample.", x, resolution)
            resolution = (resolution[0] // 2, resolution[1] // 2)
    x = F.layer_norm(x, (x.shape[-1],), sd["norm.weight"], sd["norm.bias"])
    return F.linear(x.mean(dim=1), sd["head.weight"], sd["head.bias"])


# --- tests ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def strong_ours():
    return ours_from(hf_model().state_dict())


@pytest.mark.parametrize("size", [(224, 448), (448, 224), (224, 224)],
                         ids=["224x448", "448x224", "224"])
def test_logits_equal_the_official_code(strong_ours, size):
    """Stage 4 is 7x14 / 14x7: the official code does not shift there at all."""
    x = torch.randn(1, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = official_forward(strong_ours.state_dict(), x)
        got = strong_ours(x)
    assert relative_error(got, expected) <= 1e-5


def test_per_axis_rule_differs_from_the_official_code(strong_ours):
    """The comparison above can fail: the same weights under torchvision's rule give other
    logits at 224x448, where stage 4 (7x14) would still shift along its long axis."""
    per_axis = swin_t(shift_rule="per_axis").double().eval()
    per_axis.load_state_dict(strong_ours.state_dict())
    x = torch.randn(1, 3, 224, 448, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert relative_error(per_axis(x), official_forward(strong_ours.state_dict(), x)) > 1e-3


# Every stage of these inputs (Swin-T, patch 4, window 7), padded or not, plus small maps.
STAGE_SIDES = sorted({1, 3, 4, 7, 8, 10, 13, 14, 20, 28, 40, 56, 80, 112})


@pytest.mark.parametrize("rule", SHIFT_RULES)
def test_effective_shift_rules_written_out(rule):
    for h in STAGE_SIDES:
        for w in STAGE_SIDES:
            pad_h, pad_w = -(-h // 7) * 7, -(-w // 7) * 7
            if rule == "official":
                _, shift = official_window_and_shift((h, w), 7, 3)
                expected = (shift, shift)
            elif rule == "per_axis":
                expected = torchvision_shift(pad_h, pad_w, 7, 3)
            else:  # detection: BasicLayer gives every odd block window_size // 2, no condition
                expected = (7 // 2, 7 // 2)
            assert effective_shift(pad_h, pad_w, 7, 3, rule) == expected, (h, w)
            assert effective_shift(h, w, 7, 3, rule) == expected, (h, w)


def test_model_uses_its_rule_in_every_block():
    seen = {}
    for rule in SHIFT_RULES:
        model = swin_t(shift_rule=rule)
        assert {b.shift_rule for layer in model.layers for b in layer.blocks} == {rule}
        seen[rule] = effective_shift(7, 14, 7, model.layers[3].blocks[1].shift_size, rule)
    assert seen == {"official": (0, 0), "per_axis": (0, 3), "always": (3, 3)}


def test_unknown_shift_rule_is_refused():
    with pytest.raises(ValueError, match="shift_rule='torchvision'.*'official'.*'per_axis'"):
        swin_t(shift_rule="torchvision")
    with pytest.raises(ValueError, match="rule='x'"):
        effective_shift(7, 14, 7, 3, "x")


# --- padded sizes: the detection backbone and Hugging Face -----------------------------------

# Swin-T's patches, window and stage sizes, with 16 channels and two blocks per stage: fast
# enough for many sizes. (Full Swin-T is checked at two sizes at the end.)
TINY = dict(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), num_classes=10)
# 224, 224x256, 200x328, 320x200, 192, 100x116: some stage fits in one window (the last one,
# 7x7, 7x8, 7x11, 10x7, 6x6, 4x4); 232 (stages 58, 29, 15, 8), 256, 384, 512, 800x1216: every
# stage is larger than one window, padded to whole windows somewhere.
DETECTION_SIZES = [224, 232, 256, 384, 512, (800, 1216), (224, 256), (200, 328), (320, 200),
                   (192, 192), (100, 116)]
HF_SIZES = [s for s in DETECTION_SIZES if s not in ((192, 192), (100, 116))]  # where HF runs


def _pair(size):
    return (size, size) if isinstance(size, int) else size


def _size_id(size):
    return "x".join(map(str, _pair(size)))


@functools.lru_cache(maxsize=1)
def _tiny_hf_state():
    from test_convert import _strong_hf_model
    config = transformers.SwinConfig(embed_dim=TINY["embed_dim"], depths=list(TINY["depths"]),
                                     num_heads=list(TINY["num_heads"]), num_labels=10)
    model = _strong_hf_model(seed=0, config=config).float()
    return config, {k: v.clone() for k, v in model.state_dict().items()}


def tiny_hf():
    """A fresh small Hugging Face Swin (it changes its layers on the first call), float32."""
    config, state = _tiny_hf_state()
    model = transformers.SwinForImageClassification(config).eval()
    model.load_state_dict(state)
    return model


def tiny_ours(rule="official"):
    model = SwinTransformer(shift_rule=rule, **TINY).eval()
    assert not model.load_state_dict(from_hf(_tiny_hf_state()[1]), strict=True).missing_keys
    return model


def stage_maps(model, images):
    """swin_edu's map after the last block of every stage (before merging), ``(B, H, W, C)``."""
    maps = []
    hooks = [layer.blocks[-1].register_forward_hook(lambda m, i, o: maps.append(o))
             for layer in model.layers]
    try:
        logits = model(images)
    finally:
        for hook in hooks:
            hook.remove()
    return maps, logits


def every_stage_exceeds_a_window(size, window_size=7):
    return all(min(step["shape"][1:3]) > window_size for step in stage_shapes("T", size)
               if step["name"].startswith("stage"))


def _images(size, seed=1):
    return torch.randn(1, 3, *_pair(size), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("size", DETECTION_SIZES, ids=_size_id)
def test_detection_backbone(size):
    """``shift_rule="always"`` gives the detection backbone's four stage maps and, through the
    classifier's head, its logits, at every size; the default rule equals it exactly where every
    stage is larger than one window, and differs where one is not."""
    always, default = tiny_ours("always"), tiny_ours()
    x = _images(size)
    config = dict(depths=TINY["depths"], num_heads=TINY["num_heads"])
    with torch.no_grad():
        expected_maps = detection_swin.stage_outputs(always.state_dict(), x, **config)
        expected = detection_swin.classify(always.state_dict(), x, **config)
        maps, logits = stage_maps(always, x)
        default_error = relative_error(default(x), expected)
    assert [m.shape for m in maps] == [m.shape for m in expected_maps]
    for got, want in zip(maps, expected_maps):
        assert relative_error(got, want) <= 1e-5
    assert relative_error(logits, expected) <= 1e-5
    if every_stage_exceeds_a_window(size):
        assert default_error <= 1e-5
    else:
        assert default_error > 1e-3


@pytest.mark.parametrize("size", HF_SIZES, ids=_size_id)
def test_default_rule_equals_a_fresh_hugging_face_model(size):
    hf, ours = tiny_hf(), tiny_ours()
    x = _images(size)
    with torch.no_grad():
        assert relative_error(ours(x), hf(x).logits) <= 1e-5


def test_a_hugging_face_model_that_ran_at_224_computes_something_else():
    """Issue 23's 8e-3..4e-2 at 232-512 px: at 224 px Hugging Face's last stage (7x7) sets its
    ``shift_size`` to 0 and keeps it, so a model that ran at 224 first no longer shifts stage 4
    at sizes where it is larger than one window. A fresh model, the detection backbone and
    swin_edu all shift there."""
    used, fresh, ours = tiny_hf(), tiny_hf(), tiny_ours()
    with torch.no_grad():
        used(_images(224))
        assert [int(b.shift_size) for b in used.swin.encoder.layers[3].blocks] == [0, 0]
        for size in (232, 256):
            x = _images(size)
            assert relative_error(ours(x), fresh(x).logits) <= 1e-5
            assert relative_error(ours(x), used(x).logits) > 1e-3


@pytest.mark.parametrize("size", [232, (256, 232)], ids=_size_id)
def test_swin_t_at_padded_sizes(strong_ours, size):
    """Full Swin-T (the strong weights need float64: in float32 a sharp softmax rounds to
    about 5e-5 over twelve blocks) equals a fresh Hugging Face model and the detection backbone;
    every stage is padded at 232 (58 -> 63, 29 -> 35, 15 -> 21, 8 -> 14)."""
    x = _images(size).double()
    with torch.no_grad():
        got = strong_ours(x)
        assert relative_error(got, hf_model()(x).logits) <= 1e-5
        assert relative_error(got, detection_swin.classify(strong_ours.state_dict(), x)) <= 1e-5
