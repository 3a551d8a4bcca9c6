"""Load weights from other implementations into :class:`swin_edu.model.SwinTransformer`.

- :func:`from_hf`: a Hugging Face ``SwinForImageClassification`` / ``SwinModel`` state dict,
  transformers 4.x names (``attention.self.query``) or 5.x names (``attention.q_proj``).
- :func:`load_checkpoint`: an official Swin ``.pth`` (its ``"model"`` dict already uses our
  names; only derived buffers are dropped and bias tables resized if the window changed).
- :func:`resize_relative_position_bias_table`: bicubic resize of a bias table to a new window,
  as the official code does when fine-tuning from 224/window 7 to 384/window 12.

Taught in notebooks/07_swin_transformer.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F

from swin_edu._checks import check_positive

__all__ = ["from_hf", "resize_relative_position_bias_table", "load_checkpoint"]

# Hugging Face name -> official name, for everything that is a plain rename.
_HF_RENAMES: list[tuple[str, str]] = [
    (r"^embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^embeddings\.norm\.", "patch_embed.norm."),
    (r"^embeddings\.position_embeddings$", "absolute_pos_embed"),
    (r"^encoder\.layers\.", "layers."),
    (r"\.layernorm_before\.", ".norm1."),
    (r"\.layernorm_after\.", ".norm2."),
    (r"\.attention\.self\.relative_position_bias_table$", ".attn.relative_position_bias_table"),
    (r"\.attention\.relative_position_bias\.relative_position_bias_table$",
     ".attn.relative_position_bias_table"),
    (r"\.attention\.output\.dense\.", ".attn.proj."),  # 4.x
    (r"\.attention\.o_proj\.", ".attn.proj."),  # 5.x
    (r"\.intermediate\.dense\.", ".mlp.fc1."),  # 4.x
    (r"\.output\.dense\.", ".mlp.fc2."),  # 4.x
    (r"\.mlp\.fc1\.", ".mlp.fc1."),
    (r"\.mlp\.fc2\.", ".mlp.fc2."),
    (r"^layernorm\.", "norm."),
    (r"^classifier\.", "head."),
]
# Query, key and value are three Linears in Hugging Face and one fused ``qkv`` in ours.
_HF_QKV = re.compile(r"^(?P<block>.*)\.attention\.(?:self\.(?P<old>query|key|value)|"
                     r"(?P<new>q|k|v)_proj)\.(?P<param>weight|bias)$")
_HF_DROPPED = re.compile(r"(relative_position_index|attn_mask|mask_token|^pooler\.)")


def from_hf(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a Hugging Face Swin state dict to swin_edu (= official) keys.

    Args:
        state_dict: from ``SwinForImageClassification`` (keys start with ``swin.``) or
            ``SwinModel``; transformers 4.x or 5.x.
    Returns:
        A new dict that ``SwinTransformer.load_state_dict(..., strict=True)`` accepts.
    Raises:
        ValueError: a key it does not recognise, or incomplete query/key/value triples.
    """
    converted: dict[str, torch.Tensor] = {}
    qkv_parts: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        key = key.removeprefix("swin.")
        if _HF_DROPPED.search(key):
            continue
        match = _HF_QKV.match(key)
        if match:
            part = (match["old"] or match["new"])[0]  # "q", "k" or "v"
            slot = (match["block"].replace("encoder.layers.", "layers."), match["param"])
            qkv_parts.setdefault(slot, {})[part] = value
            continue
        new_key = key
        for pattern, replacement in _HF_RENAMES:
            new_key = re.sub(pattern, replacement, new_key)
        if new_key == key and not key.startswith(("norm.", "head.")):
            raise ValueError(f"from_hf: unrecognised Hugging Face key {key!r}; is this a "
                             f"Swin (v1) state dict?")
        converted[new_key] = value
    for (block, param), parts in qkv_parts.items():
        if set(parts) != {"q", "k", "v"}:
            raise ValueError(f"from_hf: {block} has only {sorted(parts)} of query/key/value "
                             f"{param}s")
        converted[f"{block}.attn.qkv.{param}"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return converted


def resize_relative_position_bias_table(table: torch.Tensor,
                                        new_window_size: int) -> torch.Tensor:
    """Resize a bias table to another window size by bicubic interpolation.

    Args:
        table: ``((2M-1)^2, heads)``.
        new_window_size: ``M'``.
    Returns:
        ``((2M'-1)^2, heads)``; ``table`` itself (a copy) when ``M' == M``.
    """
    check_positive("new_window_size", new_window_size)
    if table.dim() != 2:
        raise ValueError(f"table has shape {tuple(table.shape)}; expected ((2M-1)^2, heads)")
    side = round(table.shape[0] ** 0.5)
    if side * side != table.shape[0] or side % 2 == 0:
        raise ValueError(f"table has {table.shape[0]} rows; expected (2M-1)^2 rows for some "
                         f"window size M (e.g. 169 for M=7)")
    new_side = 2 * new_window_size - 1
    if new_side == side:
        return table.clone()
    grid = table.T.reshape(1, table.shape[1], side, side)  # (1, heads, 2M-1, 2M-1)
    grid = F.interpolate(grid.float(), size=(new_side, new_side), mode="bicubic",
                         align_corners=False)
    return grid.reshape(table.shape[1], -1).T.contiguous().to(table.dtype)


def load_checkpoint(model: torch.nn.Module, checkpoint: str | Path | dict) -> torch.nn.Module:
    """Load an official Swin checkpoint (``.pth`` path or its loaded dict) into ``model``.

    Drops the derived buffers (``relative_position_index``, ``attn_mask``), resizes bias
    tables whose window differs from the model's, then loads strictly.
    """
    if not isinstance(checkpoint, dict):
        checkpoint = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state = checkpoint.get("model", checkpoint)
    own = model.state_dict()
    clean = {}
    for key, value in state.items():
        if key.endswith(("relative_position_index", "attn_mask")):
            continue
        if key.endswith("relative_position_bias_table") and key in own \
                and own[key].shape != value.shape:
            target_window = (round(own[key].shape[0] ** 0.5) + 1) // 2  # rows = (2M'-1)^2
            value = resize_relative_position_bias_table(value, target_window)
        clean[key] = value
    model.load_state_dict(clean, strict=True)
    return model
