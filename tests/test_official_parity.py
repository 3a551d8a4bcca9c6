"""swin_edu equals the official code's rules at non-square sizes.

The official classification model (microsoft/Swin-Transformer, ``models/swin_transformer.py``)
fixes each block's window and shift in ``SwinTransformerBlock.__init__`` from the stage's
``input_resolution``. This file writes that code out again, independently of swin_edu, as a
functional forward over an official-keyed state dict, and checks swin_edu against it at sizes
where the official code runs (every stage divisible by the window). It also checks the
``"per_axis"`` option against torchvision's rule.
"""

import pytest
import torch
import torch.nn.functional as F

from swin_edu.model import SHIFT_RULES, effective_shift, swin_t

from test_convert import hf_model, ours_from, relative_error


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
            else:
                expected = torchvision_shift(pad_h, pad_w, 7, 3)
            assert effective_shift(pad_h, pad_w, 7, 3, rule) == expected, (h, w)
            assert effective_shift(h, w, 7, 3, rule) == expected, (h, w)


def test_model_uses_its_rule_in_every_block():
    seen = {}
    for rule in SHIFT_RULES:
        model = swin_t(shift_rule=rule)
        assert {b.shift_rule for layer in model.layers for b in layer.blocks} == {rule}
        seen[rule] = effective_shift(7, 14, 7, model.layers[3].blocks[1].shift_size, rule)
    assert seen == {"official": (0, 0), "per_axis": (0, 3)}


def test_unknown_shift_rule_is_refused():
    with pytest.raises(ValueError, match="shift_rule='torchvision'.*'official'.*'per_axis'"):
        swin_t(shift_rule="torchvision")
    with pytest.raises(ValueError, match="rule='x'"):
        effective_shift(7, 14, 7, 3, "x")
