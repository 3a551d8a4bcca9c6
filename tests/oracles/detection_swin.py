"""Test oracle: the official Swin detection backbone, transcribed as a functional forward.

Upstream: microsoft/Swin-Transformer-Object-Detection, ``mmdet/models/backbones/
swin_transformer.py``, added in commit 33e752a3a93904f55606ab12a3e4f58ad8e1a6cc (2021-04-13,
"Add Swin Transformer model"; the backbone behind the official COCO checkpoints). Read from the
fork kentaroy47/Swin-Transformer-Object-Detection at 60a2ca49ffa64b156c86a78c48909d9eeb59ba40,
whose only change to the file is an unused ``pretrained=None`` argument.

Only the forward logic is kept, written out again as functions over a state dict with the
official key names (the keys swin_edu uses), independently of swin_edu: nothing here imports
it. What this backbone does, and the classification code (``tests/test_official_parity.py``)
does not:

- ``BasicLayer.forward`` builds **one** mask per stage on the map padded to whole windows,
  ``Hp x Wp``, and every odd block shifts by ``window_size // 2`` **whatever the map's size**
  (no ``min(H, W) <= window_size`` test: a map that fits in one window is still rolled, and its
  window split by the mask);
- ``SwinTransformerBlock.forward`` pads the map with zeros *after* ``norm1``, rolls the padded
  map, and crops after rolling back;
- ``PatchMerging`` pads an odd map by one row/column before merging; ``PatchEmbed`` pads the
  image to a multiple of the patch size (width first, then height).

The backbone returns every stage's map through its own LayerNorm ``norm{i}`` (parameters that
classification checkpoints do not have); :func:`stage_outputs` returns the maps before those
norms, and :func:`classify` puts the classification model's final ``norm``, mean and ``head``
on the last one, so that logits can be compared with a classifier.
"""

import math

import torch
import torch.nn.functional as F


def window_partition(x, window_size):
    """``(B, H, W, C)`` -> ``(num_windows*B, window_size, window_size, C)``."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


def window_reverse(windows, window_size, H, W):
    """``(num_windows*B, window_size, window_size, C)`` -> ``(B, H, W, C)``."""
    B = int(windows.shape[0] / (H * W / window_size / window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid([torch.arange(window_size), torch.arange(window_size)],
                                        indexing="ij"))
    coords_flatten = torch.flatten(coords, 1)
    relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()
    relative_coords[:, :, 0] += window_size - 1
    relative_coords[:, :, 1] += window_size - 1
    relative_coords[:, :, 0] *= 2 * window_size - 1
    return relative_coords.sum(-1)


def stage_mask(H, W, window_size, shift_size, device=None):
    """``BasicLayer.forward``: the SW-MSA mask of a stage, built on the padded ``Hp x Wp``."""
    Hp = int(math.ceil(H / window_size)) * window_size
    Wp = int(math.ceil(W / window_size)) * window_size
    img_mask = torch.zeros((1, Hp, Wp, 1), device=device)
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, window_size).view(-1, window_size * window_size)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0,
                                                                            float(0.0))


def window_attention(sd, p, x, window_size, num_heads, mask=None):
    """``WindowAttention.forward``: ``x`` is ``(num_windows*B, N, C)``."""
    B_, N, C = x.shape
    qkv = F.linear(x, sd[p + "qkv.weight"], sd[p + "qkv.bias"])
    qkv = qkv.reshape(B_, N, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    q = q * (C // num_heads) ** -0.5
    attn = q @ k.transpose(-2, -1)
    table = sd[p + "relative_position_bias_table"]
    bias = table[relative_position_index(window_size).view(-1)].view(N, N, -1)
    attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, num_heads, N, N) + mask.to(attn).unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, N, N)
    attn = attn.softmax(dim=-1)
    x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
    return F.linear(x, sd[p + "proj.weight"], sd[p + "proj.bias"])


def block(sd, p, x, H, W, window_size, shift_size, num_heads, mask_matrix):
    """``SwinTransformerBlock.forward``: ``x`` is ``(B, H*W, C)``."""
    B, L, C = x.shape
    assert L == H * W, "input feature has wrong size"
    shortcut = x
    x = F.layer_norm(x, (C,), sd[p + "norm1.weight"], sd[p + "norm1.bias"])
    x = x.view(B, H, W, C)
    # pad feature maps to multiples of window size
    pad_r = (window_size - W % window_size) % window_size
    pad_b = (window_size - H % window_size) % window_size
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    _, Hp, Wp, _ = x.shape
    if shift_size > 0:
        shifted_x = torch.roll(x, shifts=(-shift_size, -shift_size), dims=(1, 2))
        attn_mask = mask_matrix
    else:
        shifted_x = x
        attn_mask = None
    x_windows = window_partition(shifted_x, window_size).view(-1, window_size * window_size, C)
    attn_windows = window_attention(sd, p + "attn.", x_windows, window_size, num_heads,
                                    attn_mask)
    attn_windows = attn_windows.view(-1, window_size, window_size, C)
    shifted_x = window_reverse(attn_windows, window_size, Hp, Wp)
    if shift_size > 0:
        x = torch.roll(shifted_x, shifts=(shift_size, shift_size), dims=(1, 2))
    else:
        x = shifted_x
    if pad_r > 0 or pad_b > 0:
        x = x[:, :H, :W, :].contiguous()
    x = shortcut + x.view(B, H * W, C)
    y = F.layer_norm(x, (C,), sd[p + "norm2.weight"], sd[p + "norm2.bias"])
    y = F.linear(F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])),
                 sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    return x + y


def patch_merging(sd, p, x, H, W):
    """``PatchMerging.forward``: ``(B, H*W, C)`` -> ``(B, ceil(H/2)*ceil(W/2), 2C)``."""
    B, L, C = x.shape
    x = x.view(B, H, W, C)
    if (H % 2 == 1) or (W % 2 == 1):
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    x = torch.cat([x[:, 0::2, 0::2, :], x[:, 1::2, 0::2, :], x[:, 0::2, 1::2, :],
                   x[:, 1::2, 1::2, :]], -1).view(B, -1, 4 * C)
    x = F.layer_norm(x, (4 * C,), sd[p + "norm.weight"], sd[p + "norm.bias"])
    return F.linear(x, sd[p + "reduction.weight"])


def basic_layer(sd, i, x, H, W, depth, num_heads, window_size, downsample):
    """``BasicLayer.forward``: returns ``(x_out, H, W, x_down, Wh, Ww)`` as upstream does."""
    shift_size = window_size // 2
    attn_mask = stage_mask(H, W, window_size, shift_size, x.device)
    for j in range(depth):
        x = block(sd, f"layers.{i}.blocks.{j}.", x, H, W, window_size,
                  0 if (j % 2 == 0) else window_size // 2, num_heads, attn_mask)
    if downsample:
        x_down = patch_merging(sd, f"layers.{i}.downsample.", x, H, W)
        return x, H, W, x_down, (H + 1) // 2, (W + 1) // 2
    return x, H, W, x, H, W


def patch_embed(sd, images, patch_size):
    """``PatchEmbed.forward`` (with ``patch_norm=True``): ``(B, C, Wh, Ww)``."""
    _, _, H, W = images.shape
    if W % patch_size != 0:
        images = F.pad(images, (0, patch_size - W % patch_size))
    if H % patch_size != 0:
        images = F.pad(images, (0, 0, 0, patch_size - H % patch_size))
    x = F.conv2d(images, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"],
                 stride=patch_size)
    Wh, Ww = x.size(2), x.size(3)
    x = x.flatten(2).transpose(1, 2)
    x = F.layer_norm(x, (x.shape[-1],), sd["patch_embed.norm.weight"],
                     sd["patch_embed.norm.bias"])
    return x.transpose(1, 2).view(-1, x.shape[-1], Wh, Ww)


def stage_outputs(sd, images, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=7,
                  patch_size=4):
    """``SwinTransformer.forward`` (``ape=False``): every stage's map ``(B, H_i, W_i, C_i)``,
    before the backbone's own output norms ``norm{i}``."""
    x = patch_embed(sd, images, patch_size)
    Wh, Ww = x.size(2), x.size(3)
    x = x.flatten(2).transpose(1, 2)
    outs = []
    for i, depth in enumerate(depths):
        x_out, H, W, x, Wh, Ww = basic_layer(sd, i, x, Wh, Ww, depth, num_heads[i],
                                             window_size, downsample=i < len(depths) - 1)
        outs.append(x_out.view(-1, H, W, x_out.shape[-1]))
    return outs


def classify(sd, images, **config):
    """The last stage of :func:`stage_outputs` through the classifier's ``norm``, the mean over
    tokens and ``head``: ``(B, num_classes)`` logits."""
    last = stage_outputs(sd, images, **config)[-1]
    x = F.layer_norm(last, (last.shape[-1],), sd["norm.weight"], sd["norm.bias"])
    return F.linear(x.mean(dim=(1, 2)), sd["head.weight"], sd["head.bias"])
