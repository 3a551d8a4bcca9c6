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

from swin_edu._checks import ArgumentTypeError, check_positive, check_rank

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
            ``SwinModel``; transformers 4.x or 5.x. Also a ``Swinv2ForImageClassification`` /
            ``Swinv2Model`` state dict (for :class:`swin_edu.v2.SwinTransformerV2`) or a
            ``SwinBackbone`` one (for :class:`swin_edu.backbone.SwinBackbone`), recognised by
            their keys.
    Returns:
        A new dict that ``SwinTransformer.load_state_dict(..., strict=True)`` accepts (or
        ``SwinTransformerV2``'s / ``SwinBackbone``'s).
    Raises:
        ValueError: a key it does not recognise, or incomplete query/key/value triples.
    """
    if not isinstance(state_dict, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise ArgumentTypeError(f"state_dict must be a dict of name -> tensor (e.g. "
                                f"SwinForImageClassification(...).state_dict()), got "
                                f"{type(state_dict).__name__}")
    if _is_hf_v2(state_dict):
        return _from_hf_v2(state_dict)
    if any(k.startswith("hidden_states_norms.") for k in state_dict):
        return _from_hf_backbone(state_dict)
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


# --- Swin V2 (Swinv2ForImageClassification / Swinv2Model) -----------------------------------
# Hugging Face name -> official V2 name, after the ``swinv2.`` prefix is removed.
_HF_V2_RENAMES: list[tuple[str, str]] = [
    (r"^embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^embeddings\.norm\.", "patch_embed.norm."),
    (r"^encoder\.layers\.", "layers."),
    (r"\.attention\.self\.logit_scale$", ".attn.logit_scale"),
    (r"\.attention\.self\.continuous_position_bias_mlp\.", ".attn.cpb_mlp."),
    (r"\.attention\.self\.query\.bias$", ".attn.q_bias"),
    (r"\.attention\.self\.value\.bias$", ".attn.v_bias"),
    (r"\.attention\.output\.dense\.", ".attn.proj."),
    (r"\.layernorm_before\.", ".norm1."),
    (r"\.layernorm_after\.", ".norm2."),
    (r"\.intermediate\.dense\.", ".mlp.fc1."),
    (r"\.output\.dense\.", ".mlp.fc2."),
    (r"^layernorm\.", "norm."),
    (r"^classifier\.", "head."),
]
# V2 keeps one bias-free ``qkv`` weight; the query and value biases are separate parameters.
_HF_V2_QKV = re.compile(r"^(?P<block>.*)\.attention\.self\.(?P<part>query|key|value)\.weight$")
_V2_KEYS = re.compile(r"^(patch_embed\.(proj|norm)|norm|head"
                      r"|layers\.\d+\.downsample\.(reduction|norm)"
                      r"|layers\.\d+\.blocks\.\d+\.(norm1|norm2|mlp\.fc1|mlp\.fc2|attn\.proj"
                      r"|attn\.cpb_mlp\.[02]))\.(weight|bias)$"
                      r"|^layers\.\d+\.blocks\.\d+\.attn\.(logit_scale|q_bias|v_bias)$")
_HF_V2_DROPPED = re.compile(r"(relative_coords_table|relative_position_index|attn_mask|"
                            r"mask_token|^pooler\.)")


def _is_hf_v2(state_dict: dict[str, torch.Tensor]) -> bool:
    """Keys that only a Hugging Face Swin V2 state dict has."""
    return any(k.startswith("swinv2.") or "continuous_position_bias_mlp" in k
               for k in state_dict)


def _from_hf_v2(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """:func:`from_hf` for ``Swinv2ForImageClassification`` / ``Swinv2Model``: official V2
    keys (``attn.cpb_mlp.*``, ``attn.logit_scale``, ``attn.qkv.weight``, ``attn.q_bias``,
    ``attn.v_bias``), which :class:`swin_edu.v2.SwinTransformerV2` loads strictly."""
    converted: dict[str, torch.Tensor] = {}
    qkv_parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        key = key.removeprefix("swinv2.")
        if _HF_V2_DROPPED.search(key):
            continue
        if re.search(r"\.attention\.self\.key\.bias$", key):
            raise ValueError(f"from_hf: {key!r}: Swin V2 has no key bias (Hugging Face and the "
                             f"official code build the key projection without one)")
        match = _HF_V2_QKV.match(key)
        if match:
            block = match["block"].replace("encoder.layers.", "layers.")
            qkv_parts.setdefault(block, {})[match["part"][0]] = value
            continue
        new_key = key
        for pattern, replacement in _HF_V2_RENAMES:
            new_key = re.sub(pattern, replacement, new_key)
        if not _V2_KEYS.match(new_key):
            raise ValueError(f"from_hf: unrecognised Hugging Face Swin V2 key {key!r}")
        converted[new_key] = value
    for block, parts in qkv_parts.items():
        if set(parts) != {"q", "k", "v"}:
            raise ValueError(f"from_hf: {block} has only {sorted(parts)} of query/key/value "
                             f"weights")
        converted[f"{block}.attn.qkv.weight"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return converted


# --- SwinBackbone (Hugging Face's detection backbone) ----------------------------------------
_HF_BACKBONE_NORM = re.compile(r"^hidden_states_norms\.stage(?P<stage>\d+)\."
                               r"(?P<param>weight|bias)$")


def _from_hf_backbone(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """:func:`from_hf` for an HF ``SwinBackbone``: the Swin body as for ``SwinModel``, its
    ``hidden_states_norms.stage{i}`` as the official detection backbone's ``norm{i-1}``; the
    unused final ``layernorm`` (not part of a backbone) is dropped."""
    norms: dict[str, torch.Tensor] = {}
    body: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        match = _HF_BACKBONE_NORM.match(key)
        if match:
            norms[f"norm{int(match['stage']) - 1}.{match['param']}"] = value
        elif key.startswith("hidden_states_norms."):
            raise ValueError(f"from_hf: unrecognised Hugging Face SwinBackbone key {key!r} "
                             f"(expected hidden_states_norms.stage1 ... stage4)")
        elif not key.removeprefix("swin.").startswith("layernorm."):
            body[key] = value
    return {**from_hf(body), **norms}


def resize_relative_position_bias_table(table: torch.Tensor,
                                        new_window_size: int) -> torch.Tensor:
    """Resize a bias table to another window size by bicubic interpolation.

    Args:
        table: ``((2M-1)^2, heads)``.
        new_window_size: ``M'``.
    Returns:
        ``((2M'-1)^2, heads)``; ``table`` itself (a copy) when ``M' == M``.
    """
    new_window_size = check_positive("new_window_size", new_window_size)
    check_rank("table", table, 2, "((2M-1)^2, heads)")
    if not table.is_floating_point():
        raise ArgumentTypeError(f"table has dtype {table.dtype}; expected a float bias table")
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
    """Load a Swin checkpoint (``.pth`` path or its loaded dict) into ``model``, all or nothing.

    Accepts the official ``{"model": state_dict}`` file, a ``{"state_dict": ...}`` wrapper, a
    bare state dict, keys prefixed ``module.`` (saved from ``DataParallel``) and Hugging Face
    state dicts (converted with :func:`from_hf`). Drops the derived buffers
    (``relative_position_index``, ``attn_mask``, V2's ``relative_coords_table``) and resizes
    bias tables whose window differs from the model's. Every key and shape is checked
    *before* anything is copied, so on failure the model is untouched.

    Raises:
        ValueError: not a checkpoint (with what the file holds instead), or keys/shapes that
            do not match ``model``: the first differing keys with both shapes, and the
            variant, window and class count the checkpoint appears to have.
    """
    if not isinstance(model, torch.nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module (e.g. swin_edu.model."
                                f"swin_t()), got {type(model).__name__}")
    state = _state_dict_of(_read(checkpoint))
    own = model.state_dict()
    clean = {}
    for key, value in state.items():
        if key.endswith(("relative_position_index", "attn_mask", "relative_coords_table")):
            continue
        if key.endswith("relative_position_bias_table") and key in own \
                and own[key].shape != value.shape and value.dim() == 2 \
                and value.shape[1] == own[key].shape[1]:
            target_window = (round(own[key].shape[0] ** 0.5) + 1) // 2  # rows = (2M'-1)^2
            value = resize_relative_position_bias_table(value, target_window)
        clean[key] = value
    problems = _mismatches(own, clean)
    if problems:
        raise ValueError("load_checkpoint: the checkpoint does not fit the model; nothing was "
                         "loaded.\n" + "\n".join(problems) + "\n" + _describe_checkpoint(clean)
                         + "\n" + _describe_checkpoint(own, prefix="the model "))
    model.load_state_dict(clean, strict=True)
    return model


def _read(checkpoint: object) -> object:
    """The loaded object of a path, or ``checkpoint`` itself."""
    if isinstance(checkpoint, (str, Path)):
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint={str(checkpoint)!r}: no such file")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # pickle, zip and weights-only errors alike
            raise ValueError(f"checkpoint={str(checkpoint)!r} is not a PyTorch checkpoint that "
                             f"torch.load(weights_only=True) can read ({type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''})") from None
    return checkpoint


def _state_dict_of(obj: object) -> dict[str, torch.Tensor]:
    """Unwrap ``{"model": ...}`` / ``{"state_dict": ...}`` and ``module.`` prefixes; convert
    Hugging Face keys."""
    what = "checkpoint"
    for _ in range(3):  # e.g. {"state_dict": {"model": ...}}
        if isinstance(obj, dict):
            inner = [k for k in ("model", "state_dict", "model_state_dict") if k in obj
                     and isinstance(obj[k], dict)]
            if inner:
                what, obj = f"{what}[{inner[0]!r}]", obj[inner[0]]
    if isinstance(obj, torch.Tensor):
        raise ValueError(f"{what} is a single tensor of shape {tuple(obj.shape)}, not a state "
                         f"dict (a dict of parameter name -> tensor)")
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"{what} is {type(obj).__name__}"
                         f"{' (empty)' if isinstance(obj, dict) else ''}, not a state dict "
                         f"(a dict of parameter name -> tensor, or the official "
                         f"{{'model': state_dict}} file)")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{what} is a dict but not a state dict: {bad[0]!r} maps to "
                         f"{type(obj[bad[0]]).__name__}, not a tensor (keys: "
                         f"{list(obj)[:5]})")
    if all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    if any(k.startswith(("swin.", "swinv2.", "embeddings.", "encoder.", "hidden_states_norms."))
           for k in obj):
        obj = from_hf(obj)
    return obj


def _mismatches(own: dict[str, torch.Tensor], new: dict[str, torch.Tensor],
                limit: int = 5) -> list[str]:
    """Lines naming the first differing keys (missing, unexpected, other shape)."""
    lines = []
    shapes = [f"  {k}: checkpoint {tuple(new[k].shape)}, model {tuple(own[k].shape)}"
              for k in own if k in new and new[k].shape != own[k].shape]
    missing = [f"  {k} {tuple(own[k].shape)}" for k in own if k not in new]
    unexpected = [f"  {k} {tuple(new[k].shape)}" for k in new if k not in own]
    for title, items in (("other shapes", shapes), ("missing from the checkpoint", missing),
                         ("not in the model", unexpected)):
        if items:
            more = f" (first {limit} of {len(items)})" if len(items) > limit else ""
            lines += [f"{title}{more}:"] + items[:limit]
    return lines


def _describe_checkpoint(state: dict[str, torch.Tensor], prefix: str = "the checkpoint "
                         ) -> str:
    """What a state dict looks like: embed_dim, depths, heads, window, classes, variant."""
    from swin_edu.model import VARIANTS  # here: model does not import convert

    embed = state.get("patch_embed.proj.weight")
    if embed is None or embed.dim() != 4:
        return f"{prefix}has no patch_embed.proj.weight: not a Swin (v1) state dict?"
    depths: dict[int, int] = {}
    heads: dict[int, int] = {}
    window = None
    for key, value in state.items():
        match = re.match(r"layers\.(\d+)\.blocks\.(\d+)\.", key)
        if match:
            stage, block = int(match[1]), int(match[2])
            depths[stage] = max(depths.get(stage, 0), block + 1)
            if key.endswith("relative_position_bias_table") and value.dim() == 2:
                heads[stage] = value.shape[1]
                window = (round(value.shape[0] ** 0.5) + 1) // 2
    depth_t = tuple(depths[i] for i in sorted(depths))
    head_t = tuple(heads.get(i, 0) for i in sorted(depths))
    dim = embed.shape[0]
    head = state.get("head.weight")
    classes = head.shape[0] if head is not None and head.dim() == 2 else 0
    variant = next((f"looks like Swin-{name}" for name, cfg in VARIANTS.items()
                    if cfg["embed_dim"] == dim and tuple(cfg["depths"]) == depth_t
                    and tuple(cfg["num_heads"]) == head_t), "is not a standard variant")
    return (f"{prefix}{variant}: embed_dim={dim}, depths={depth_t}, "
            f"num_heads={head_t}, window_size={window}, num_classes={classes}, "
            f"in_chans={embed.shape[1]}, patch_size={embed.shape[2]}")
