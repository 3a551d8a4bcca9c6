"""Every public function, class and explorer of swin_edu's model, course-tool and experiment
modules (all but viz, the figure script, web, i18n and grading, whose inputs come from the
package itself or have their own tests), walked with bad inputs (issue 11).

Table-driven: each entry of ``SPECS`` is a public callable, a valid set of arguments (checked
to run) and, per argument, a kind; each kind lists bad values (wrong type, rank or dtype,
``None``, ``bool``, zero/negative, NaN/inf, non-divisible). Every bad call must raise a
``ValueError`` or ``TypeError`` whose message names the argument. ``HUGE`` lists requests that
the memory guard must refuse before anything reaches the allocator, and
``test_every_public_name_is_covered`` keeps the table complete as the package grows.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
import torch
from torch import nn

import swin_edu.experiments as experiments_module
from swin_edu.memory import using_memory_limit
import swin_edu.receptive_field as receptive_module
import swin_edu.attention as attention_module
import swin_edu.attention_variants as variants_module
import swin_edu.complexity as complexity_module
import swin_edu.convert as convert_module
import swin_edu.masks as masks_module
import swin_edu.model as model_module
import swin_edu.patches as patches_module
import swin_edu.relative_position as relpos_module
import swin_edu.widgets as widgets_module
import swin_edu.windows as windows_module
from swin_edu.attention import (WindowAttention, additive_mask, cached_mask, explicit_attention,
                                global_attention, shifted_window_attention)
from swin_edu.attention_variants import (format_table5, global_msa, padding_mask,
                                         run_alternating, shifted_window_cyclic,
                                         shifted_window_padding, sliding_window_msa, table5,
                                         time_alternating, window_msa)
from swin_edu.complexity import (count_parameters, forward_memory_bytes, largest_activation_bytes,
                                 measured_flops, model_flops, msa_flops, wmsa_flops)
from swin_edu.convert import from_hf, load_checkpoint, resize_relative_position_bias_table
from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.model import (BasicLayer, SwinTransformer, SwinTransformerBlock, effective_shift,
                            stage_shapes, swin_b, swin_l, swin_s, swin_t)
from swin_edu.patches import PatchEmbed, PatchMerging, merge_patches, patch_partition
from swin_edu.relative_position import (RelativePositionBias, lookup_bias, relative_coords,
                                        relative_position_index, window_coords)
from swin_edu.widgets import (ComplexityExplorer, MaskExplorer, PatchMergingExplorer,
                              RelativePositionExplorer, ShapeTracer)
from swin_edu.widgets.v2 import CpbExplorer
from swin_edu.experiments import (Split, TinyCNN, TinyViT, UnmaskedWindowAttention, accuracy,
                                  digits_split, jigsaw_pairs, mean_std, run_seeds,
                                  seams_match, seed_everything, shuffle_tiles, tile_view,
                                  tiny_swin, train)
from swin_edu.receptive_field import (forward_steps, reach_map, reach_maps, reach_steps,
                                      receptive_field, receptive_fields, small_swin,
                                      stage_shift, step_stage, step_stride, token_at_pixel)
from swin_edu.windows import (cyclic_shift, num_windows, pad_to_window, reverse_cyclic_shift,
                              shift_pair, window_partition, window_reverse)

NAN, INF = float("nan"), float("inf")
X4 = torch.zeros(1, 8, 8, 8)  # (B, H, W, C)
ATTN = WindowAttention(8, 4, 2)
SMALL = dict(img_size=32, embed_dim=8, depths=(2, 2), num_heads=(1, 2), window_size=2,
             num_classes=5)
TINY = SwinTransformer(**SMALL)
INDEX = relative_position_index(2)

RF_MODEL = small_swin(32)  # stages of 8x8, 4x4, 2x2 tokens
RF_STEP = "patch embedding"
SPLIT = Split(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long),
              torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))


def _restoring_seed_everything(**kwargs: Any) -> None:
    """seed_everything, then the torch settings other tests expect back."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        seed_everything(**kwargs)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


_restoring_seed_everything.__name__ = "seed_everything"

# Bad values per kind of argument.
KINDS: dict[str, list[Any]] = {
    "size": [0, -1, 2.5, True, None, "8", NAN],
    "count": [-1, 2.5, True, None, "8"],  # >= 0
    "shift": [-1, 1.5, True, None, "1", 99],
    "shift_pair": [-1, 1.5, True, None, "1", (1, 2, 3), (1, -1)],
    "shift_opt": [-1, 1.5, True, "1", 99],  # None means the default there
    "prob": [-0.5, 1.5, 1.0, NAN, INF, None, "0.1", True],
    "ratio": [0, -1.0, 0.001, NAN, INF, None, "4"],  # 0.001 * C channels: no hidden unit
    "negative": [NAN, INF, -INF, 100.0, 0.0, None, "x", True],
    "bool": [None, "yes", 1, 0.0],
    "tensor4": [None, [[0.0]], 3.0, torch.zeros(8, 8), torch.zeros(1, 1, 8, 8, 8)],
    "tensor3": [None, [[0.0]], torch.zeros(8, 8), torch.zeros(1, 1, 16, 8)],
    "tensor2": [None, [[0.0]], torch.zeros(9), torch.zeros(9, 2, 1)],
    "image": [None, [[0.0]], torch.zeros(3, 32, 32), torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
              torch.zeros(1, 3, 32, 32, dtype=torch.float64), torch.zeros(1, 4, 32, 32)],
    "qk": [None, torch.zeros(4), torch.zeros(1, 2, 4, 4, dtype=torch.long),
           torch.zeros(1, 2, 4, 5)],  # last: d differs from the other's
    "v": [None, torch.zeros(4), torch.zeros(1, 2, 4, 4, dtype=torch.long),
          torch.zeros(1, 2, 5, 4)],  # last: another number of keys
    "mask": [torch.zeros(4, 16, 16, dtype=torch.long), [[0.0]], torch.zeros(16, 16),
             torch.zeros(4, 9, 9), torch.zeros(3, 16, 16)],
    "attention": [None, nn.Linear(8, 8), "attn"],
    "linear": [None, nn.Linear(8, 9), "qkv"],
    "mask_dtype": [None, [[0.0]], torch.zeros(4, 16, 16, dtype=torch.long),
                   torch.zeros(2, dtype=torch.int8)],
    "module": [None, 5, "model"],
    "swin": [None, 5, nn.Linear(2, 2)],
    "image_size": [0, -1, 2.5, True, None, "224", (224,), (224, 0), (224, 224, 3)],
    "index": [None, torch.zeros(4, 4), INDEX - 2, INDEX + 9, INDEX[None], INDEX[:3]],
    "table": [None, torch.zeros(10, 2), torch.zeros(9, 2, dtype=torch.long), torch.zeros(9)],
    "device": [5, 1.5, [0]],
    "fns": [None, {}, {"a": 1}, [lambda: None]],
    "ints": [None, (), (0,), (2.5,), "12", (9,), (True,)],
    "depths": [None, (), (2, -1), (2.5, 2), "22", (True, 2)],
    "heads": [None, (0, 2), (1,), (1.5, 2), "12"],
    "classes": [-1, 2.5, None, True, "5"],
    "variant": ["X", "t", None, 5],
    "rule": ["torchvision", "Official", None, 5, ("official",)],
    "variants": ["window (w/o shifting)", ["nope"], 5],
    "rows": [None, [], [{}], "rows"],
    "state_dict": [None, [], {"a": 1}, {1: torch.zeros(1)}],
    "checkpoint": [None, 5, torch.zeros(3), {"epoch": 1}, {}],
    "drop_path": [-0.5, 1.0, NAN, None, "0.1", [0.1]],  # [0.1]: one rate for two blocks
    # receptive_field and experiments
    "step": [None, "nope", 5],
    "pixel": [None, (-1, 0), (1.5, 0), (1,), "00"],
    "token": [None, (1,), (1.5, 0), (-1, 0), (0, 99)],
    "tokens": [None, {}, 5],
    "threshold": [0.0, 1.0, -1.0, NAN, None, "x"],
    "stage": [0, 4, 1.5, None],  # RF_MODEL has 3 stages
    "block": [0, 3, 1.5, None],  # of 2 blocks
    "map_size": [None, (8,), (0, 8), (8, 2.5), 8],
    "split": [None, 5, {"x_train": 1}],
    "build": [None, 5],
    "seeds": [None, (), (-1,), (1.5,), "012"],
    "values": [None, [], [NAN], ["a"], 5],
    "real_pos": [0.0, -1.0, NAN, INF, None, "0.1", True],
    "real_nonneg": [-1.0, NAN, INF, None, "0.1", True],
    "fraction": [0.0, 1.0, 1.5, -0.1, NAN, None, "0.25"],
    "position": ["xx", None, 5],
    "labels": [torch.zeros(3, dtype=torch.long)],  # 3 labels for 2 images
}


def _forward(module: nn.Module) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return module(*args, **kwargs)
    call.__name__ = f"{type(module).__name__}.forward"
    return call


# (callable, valid keyword arguments, {argument: kind}); the callable runs with the valid
# arguments in test_valid_calls_run, then once per bad value with one argument replaced.
SPECS: list[tuple[Callable[..., Any], dict[str, Any], dict[str, str]]] = [
    # windows
    (num_windows, dict(H=8, W=8, window_size=4), dict(H="size", W="size", window_size="size")),
    (window_partition, dict(x=X4, window_size=4), dict(x="tensor4", window_size="size")),
    (window_reverse, dict(windows=torch.zeros(4, 4, 4, 8), window_size=4, H=8, W=8),
     dict(windows="tensor4", window_size="size", H="size", W="size")),
    (cyclic_shift, dict(x=X4, shift_size=1), dict(x="tensor4", shift_size="shift_pair")),
    (reverse_cyclic_shift, dict(x=X4, shift_size=1), dict(x="tensor4", shift_size="shift_pair")),
    (pad_to_window, dict(x=X4, window_size=3), dict(x="tensor4", window_size="size")),
    (shift_pair, dict(shift_size=1), dict(shift_size="shift_pair")),
    # masks
    (region_labels, dict(H=8, W=8, window_size=4, shift_size=2),
     dict(H="size", W="size", window_size="size", shift_size="shift_pair")),
    (shifted_window_mask, dict(H=8, W=8, window_size=4, shift_size=2, masked_value=-100.0),
     dict(H="size", W="size", window_size="size", shift_size="shift_pair",
          masked_value="negative")),
    # relative position
    (window_coords, dict(window_size=3), dict(window_size="size")),
    (relative_coords, dict(window_size=3), dict(window_size="size")),
    (relative_position_index, dict(window_size=3), dict(window_size="size")),
    (lookup_bias, dict(table=torch.zeros(9, 2), index=INDEX),
     dict(table="tensor2", index="index")),
    (RelativePositionBias, dict(window_size=2, num_heads=2),
     dict(window_size="size", num_heads="size")),
    # attention
    (explicit_attention, dict(q=torch.zeros(1, 2, 4, 4), k=torch.zeros(1, 2, 4, 4),
                              v=torch.zeros(1, 2, 4, 4), bias=None, dropout_p=0.0),
     dict(q="qk", k="qk", v="v", dropout_p="prob")),
    (additive_mask, dict(mask=torch.zeros(4, 16, 16)), dict(mask="mask_dtype")),
    (global_attention, dict(x=torch.zeros(1, 16, 8), qkv=ATTN.qkv, proj=ATTN.proj, num_heads=2),
     dict(x="tensor3", qkv="linear", proj="linear", num_heads="size")),
    (WindowAttention, dict(dim=8, window_size=4, num_heads=2, qkv_bias=True, attn_drop=0.0,
                           proj_drop=0.0),
     dict(dim="size", window_size="size", num_heads="size", qkv_bias="bool", attn_drop="prob",
          proj_drop="prob")),
    (_forward(ATTN), dict(windows=torch.zeros(8, 16, 8), mask=torch.zeros(4, 16, 16),
                          fused=True),
     dict(windows="tensor3", mask="mask", fused="bool")),
    (shifted_window_attention, dict(x=X4, attention=ATTN, shift_size=2, fused=True),
     dict(x="tensor4", attention="attention", shift_size="shift_pair", fused="bool")),
    (cached_mask, dict(H=8, W=8, window_size=4, shift_h=2, shift_w=2, device=None),
     dict(H="size", W="size", window_size="size", shift_h="shift", shift_w="shift",
          device="device")),
    # attention variants (Table 5)
    (global_msa, dict(x=X4, attention=ATTN, fused=True),
     dict(x="tensor4", attention="attention", fused="bool")),
    (window_msa, dict(x=X4, attention=ATTN, fused=True),
     dict(x="tensor4", attention="attention", fused="bool")),
    (sliding_window_msa, dict(x=X4, attention=ATTN, fused=True),
     dict(x="tensor4", attention="attention", fused="bool")),
    (shifted_window_padding, dict(x=X4, attention=ATTN, shift_size=2, fused=True),
     dict(x="tensor4", attention="attention", shift_size="shift_opt", fused="bool")),
    (shifted_window_cyclic, dict(x=X4, attention=ATTN, shift_size=2, fused=True),
     dict(x="tensor4", attention="attention", shift_size="shift_opt", fused="bool")),
    (padding_mask, dict(H=8, W=8, window_size=4, shift_size=2),
     dict(H="size", W="size", window_size="size", shift_size="shift")),
    (run_alternating, dict(fns={"a": lambda: None}, repeats=1, warmup=0),
     dict(fns="fns", repeats="size", warmup="count")),
    (time_alternating, dict(fns={"a": lambda: None}, repeats=1, warmup=0),
     dict(fns="fns", repeats="size", warmup="count")),
    (table5, dict(stages=(4,), repeats=1, batch_size=1, image_size=224, window_size=7,
                  embed_dim=96, num_heads=(3, 6, 12, 24), variants=["window (w/o shifting)"],
                  fused=True, seed=0),
     dict(stages="ints", repeats="size", batch_size="size", image_size="size",
          window_size="size", embed_dim="size", num_heads="heads", variants="variants",
          fused="bool", seed="count")),
    (format_table5, dict(rows=[dict(variant="a", stage=1, resolution=56, dim=96, heads=3,
                                    ms=1.0, ratio=None, paper_ms=None, paper_ratio=None)]),
     dict(rows="rows")),
    # complexity
    (msa_flops, dict(h=8, w=8, C=8), dict(h="size", w="size", C="size")),
    (wmsa_flops, dict(h=8, w=8, C=8, M=4), dict(h="size", w="size", C="size", M="size")),
    (model_flops, dict(model=TINY, image_size=32), dict(model="swin", image_size="image_size")),
    (measured_flops, dict(module=lambda: torch.zeros(1)), dict(module="module")),
    (count_parameters, dict(model=TINY), dict(model="module")),
    (largest_activation_bytes, dict(model=TINY, batch_size=1, H=32, W=32),
     dict(model="swin", batch_size="count", H="size", W="size")),
    (forward_memory_bytes, dict(model=TINY, batch_size=1, H=32, W=32, grad=True),
     dict(model="swin", batch_size="count", H="size", W="size", element_size="size",
          grad="bool")),
    # convert
    (from_hf, dict(state_dict={}), dict(state_dict="state_dict")),
    (resize_relative_position_bias_table, dict(table=torch.zeros(9, 2), new_window_size=3),
     dict(table="table", new_window_size="size")),
    (load_checkpoint, dict(model=SwinTransformer(**SMALL), checkpoint=TINY.state_dict()),
     dict(model="module", checkpoint="checkpoint")),
    # patches
    (patch_partition, dict(images=torch.zeros(1, 3, 8, 8), patch_size=4),
     dict(images="tensor4", patch_size="size")),
    (merge_patches, dict(x=X4), dict(x="tensor4")),
    (PatchEmbed, dict(patch_size=4, in_chans=3, embed_dim=8, patch_norm=True),
     dict(patch_size="size", in_chans="size", embed_dim="size", patch_norm="bool")),
    (_forward(PatchEmbed(4, 3, 8)), dict(images=torch.zeros(1, 3, 32, 32)),
     dict(images="image")),
    (PatchMerging, dict(dim=8), dict(dim="size")),
    (_forward(PatchMerging(8)), dict(x=X4), dict(x="tensor4")),
    # model
    (SwinTransformerBlock, dict(dim=8, num_heads=2, window_size=4, shift_size=2, mlp_ratio=4.0,
                                qkv_bias=True, drop=0.0, attn_drop=0.0, drop_path=0.0),
     dict(dim="size", num_heads="size", window_size="size", shift_size="shift",
          mlp_ratio="ratio", qkv_bias="bool", drop="prob", attn_drop="prob",
          drop_path="prob")),
    (_forward(SwinTransformerBlock(8, 2, 4, 2)), dict(x=X4), dict(x="tensor4")),
    (BasicLayer, dict(dim=8, depth=2, num_heads=2, window_size=4, mlp_ratio=4.0, qkv_bias=True,
                      drop=0.0, attn_drop=0.0, drop_path=0.0, downsample=True),
     dict(dim="size", depth="size", num_heads="size", window_size="size", mlp_ratio="ratio",
          qkv_bias="bool", drop="prob", attn_drop="prob", drop_path="drop_path",
          downsample="bool")),
    (SwinTransformer, dict(SMALL, patch_size=4, in_chans=3, mlp_ratio=4.0, qkv_bias=True,
                           drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1, ape=False,
                           patch_norm=True, shift_rule="official"),
     dict(img_size="size", patch_size="size", in_chans="size", num_classes="classes",
          embed_dim="size", depths="depths", num_heads="heads", window_size="size",
          mlp_ratio="ratio", qkv_bias="bool", drop_rate="prob", attn_drop_rate="prob",
          drop_path_rate="prob", ape="bool", patch_norm="bool", shift_rule="rule")),
    (_forward(TINY), dict(images=torch.zeros(1, 3, 32, 32)), dict(images="image")),
    (effective_shift, dict(H=7, W=14, window_size=7, shift_size=3, rule="official"),
     dict(H="size", W="size", window_size="size", shift_size="shift", rule="rule")),
    (stage_shapes, dict(variant="T", image_size=224, batch_size=1),
     dict(variant="variant", image_size="image_size", batch_size="count")),
    # receptive field
    (small_swin, dict(image_size=32, seed=0), dict(image_size="size", seed="count")),
    (reach_steps, dict(model=RF_MODEL), dict(model="swin")),
    (forward_steps, dict(model=RF_MODEL, images=torch.zeros(1, 1, 32, 32)),
     dict(model="swin", images="image")),
    (step_stage, dict(model=RF_MODEL, step=RF_STEP), dict(model="swin", step="step")),
    (step_stride, dict(model=RF_MODEL, step=RF_STEP), dict(model="swin", step="step")),
    (token_at_pixel, dict(model=RF_MODEL, step=RF_STEP, pixel=(5, 6)),
     dict(model="swin", step="step", pixel="pixel")),
    (receptive_fields, dict(model=RF_MODEL, tokens={RF_STEP: (0, 0)}, image_size=32, seed=0),
     dict(model="swin", tokens="tokens", image_size="image_size", seed="count")),
    (receptive_field, dict(model=RF_MODEL, step=RF_STEP, token=(0, 0), image_size=32),
     dict(model="swin", step="step", token="token", image_size="image_size")),
    (reach_maps, dict(model=RF_MODEL, tokens={RF_STEP: (0, 0)}, image_size=32,
                      threshold=1e-25),
     dict(model="swin", tokens="tokens", threshold="threshold")),
    (reach_map, dict(model=RF_MODEL, step=RF_STEP, token=(0, 0), image_size=32),
     dict(model="swin", step="step", token="token", threshold="threshold")),
    (stage_shift, dict(model=RF_MODEL, stage=1, block=2, map_size=(8, 8)),
     dict(model="swin", stage="stage", block="block", map_size="map_size")),
    # experiments
    (_restoring_seed_everything, dict(seed=0, threads=1), dict(seed="count", threads="size")),
    (digits_split, dict(test_size=0.25, random_state=0),
     dict(test_size="fraction", random_state="count")),
    (tile_view, dict(images=torch.zeros(1, 3, 8, 8), tile=4),
     dict(images="tensor4", tile="size")),
    (shuffle_tiles, dict(images=torch.zeros(1, 3, 8, 8), order=torch.tensor([[3, 2, 1, 0]]),
                         tile=4), dict(images="tensor4", tile="size")),
    (seams_match, dict(images=torch.zeros(1, 3, 8, 8), tile=4),
     dict(images="tensor4", tile="size")),
    (jigsaw_pairs, dict(num_pairs=2, seed=0, tile=4, grid=2),
     dict(num_pairs="size", tile="size", grid="size")),
    (TinyCNN, dict(in_chans=1, num_classes=10, width=4),
     dict(in_chans="size", num_classes="size", width="size")),
    (TinyViT, dict(img_size=8, patch_size=2, in_chans=1, num_classes=10, embed_dim=8,
                   depth=1, num_heads=2), dict(img_size="size", patch_size="size")),
    (UnmaskedWindowAttention, dict(dim=8, window_size=4, num_heads=2),
     dict(dim="size", window_size="size", num_heads="size")),
    (tiny_swin, dict(shift=True, position="relative", mask=True),
     dict(shift="bool", position="position", mask="bool")),
    (accuracy, dict(model=TinyCNN(), x=torch.zeros(2, 1, 8, 8),
                    y=torch.zeros(2, dtype=torch.long), batch=2),
     dict(model="module", batch="size", y="labels")),
    (train, dict(model=TinyCNN(), data=SPLIT, epochs=1, batch_size=2, lr=1e-3,
                 weight_decay=0.0, seed=0, curve=False),
     dict(model="module", data="split", epochs="size", batch_size="size", lr="real_pos",
          weight_decay="real_nonneg", seed="count", curve="bool")),
    (run_seeds, dict(build=TinyCNN, data=SPLIT, seeds=(0,), epochs=1, batch_size=2),
     dict(build="build", seeds="seeds")),
    (mean_std, dict(values=[0.5, 0.7]), dict(values="values")),
] + [
    # the variants (valid calls build whole models: only swin_t's is run, see below)
    (factory, dict(num_classes=10), dict(num_classes="classes", window_size="size",
                                         mlp_ratio="ratio", drop_path_rate="prob"))
    for factory in (swin_t, swin_s, swin_b, swin_l)
]

# Explorers: constructor arguments and set() take the same values.
EXPLORERS: list[tuple[type, dict[str, Any]]] = [
    (MaskExplorer, dict(H=8, W=8, window_size=4, shift_size=2, window=3, query=0)),
    (RelativePositionExplorer, dict(window_size=2, query=0)),
    (ComplexityExplorer, dict(h=56, w=56, C=96, M=7)),
    (PatchMergingExplorer, dict(H=8, W=8, token=0)),
    (ShapeTracer, dict(variant="T", image_size=224)),
    (CpbExplorer, dict(window_size=8, pretrained_window_size=0)),
]
CONTROL_BAD = [None, "8", 2.5, True, -5, 10 ** 6, NAN]


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _bad_calls() -> list[Any]:
    cases = []
    for fn, valid, kinds in SPECS:
        for arg, kind in kinds.items():
            for i, bad in enumerate(KINDS[kind]):
                cases.append(pytest.param(fn, {**valid, arg: bad}, arg,
                                          id=f"{_name(fn)}-{arg}-{kind}{i}"))
    return cases


# The memory guard: sizes that would need far more than a limit of 4 GiB (set in the test:
# the default follows the device, see tests/test_memory.py). One case per distinct message.
def _big(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor of ``shape`` that takes no memory (one element, expanded)."""
    return torch.zeros((1,) * len(shape), dtype=dtype).expand(*shape)


HUGE: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (shifted_window_mask, dict(H=65536, W=65536, window_size=64, shift_size=32), "H"),
    (region_labels, dict(H=2 ** 20, W=2 ** 20, window_size=1, shift_size=0), "H"),
    (relative_position_index, dict(window_size=300), "window_size"),
    (relative_coords, dict(window_size=300), "window_size"),
    (window_coords, dict(window_size=300), "window_size"),
    (cached_mask, dict(H=65536, W=65536, window_size=64, shift_h=32, shift_w=32), "H"),
    (padding_mask, dict(H=65536, W=65536, window_size=64, shift_size=32), "H"),
    # the fused kernel builds no L x L matrix: what is refused is qkv, q, k, v, out (8 L C)
    (global_attention, dict(x=_big(1, 10 ** 8, 8), qkv=ATTN.qkv, proj=ATTN.proj, num_heads=2),
     "x"),
    (global_msa, dict(x=_big(1, 512, 512, 8), attention=ATTN), "x"),
    (sliding_window_msa, dict(x=_big(64, 512, 512, 8), attention=ATTN), "x"),
    (_forward(ATTN), dict(windows=_big(10 ** 8, 16, 8), mask=torch.zeros(4, 16, 16)),
     "windows"),
    (_forward(TINY), dict(images=_big(100_000, 3, 224, 224)), "images"),
    (_forward(TINY), dict(images=_big(1, 3, 50_000, 50_000)), "images"),
    # constructors: refused before any parameter is allocated (tests/test_memory.py times them)
    (RelativePositionBias, dict(window_size=20000, num_heads=1), "window_size"),
    (WindowAttention, dict(dim=8, window_size=20000, num_heads=1), "window_size"),
    (SwinTransformerBlock, dict(dim=10 ** 6, num_heads=1), "dim"),
    (SwinTransformer, dict(num_classes=10 ** 9), "num_classes"),
    (PatchEmbed, dict(patch_size=10 ** 5), "patch_size"),
    (PatchMerging, dict(dim=10 ** 6), "dim"),
    (pad_to_window, dict(x=torch.zeros(1, 10, 10, 4), window_size=60000), "window_size"),
]


def _names_argument(message: str, arg: str) -> bool:
    return re.search(rf"(^|[^\w.]){re.escape(arg)}(\[\d+\])?(=|\s|\[|\.|$)",
                     message) is not None


@pytest.mark.parametrize("fn, kwargs, arg", _bad_calls())
def test_bad_argument_gets_a_clear_message(fn, kwargs, arg):
    expected: tuple[type[BaseException], ...] = (ValueError, TypeError)
    with pytest.raises(expected) as error:
        fn(**kwargs)
    assert _names_argument(str(error.value), arg), str(error.value)


@pytest.mark.parametrize("fn, kwargs", [
    pytest.param(fn, valid, id=_name(fn)) for fn, valid, _ in SPECS
    if fn not in (swin_s, swin_b, swin_l)])  # as swin_t, only bigger
def test_valid_calls_run(fn, kwargs):
    """The valid arguments of the table really are valid: each refusal above is the bad
    argument's doing."""
    fn(**kwargs)


@pytest.mark.parametrize("fn, kwargs, arg", [
    pytest.param(fn, kwargs, arg, id=f"{_name(fn)}-{i}") for i, (fn, kwargs, arg)
    in enumerate(HUGE)])
def test_huge_requests_are_refused_with_the_figure(fn, kwargs, arg):
    with using_memory_limit("4GiB"), pytest.raises(
            ValueError, match=r"would need [\d.]+ GiB .* limit of 4\.0 GiB .*"
                              r"SWIN_EDU_MEMORY_LIMIT.*set_memory_limit") as error:
        fn(**kwargs)
    assert _names_argument(str(error.value), arg), str(error.value)


@pytest.mark.parametrize("cls, valid, control, bad", [
    pytest.param(cls, valid, control, bad, id=f"{cls.__name__}-{control}-{i}")
    for cls, valid in EXPLORERS for control in valid for i, bad in enumerate(
        CONTROL_BAD if control != "variant" else ["X", None, 5])])
def test_explorer_bad_values_refused_alike_by_constructor_and_set(cls, valid, control, bad,
                                                                  explorer_cache):
    with pytest.raises((ValueError, TypeError)) as by_constructor:
        cls(**{**valid, control: bad})
    explorer = explorer_cache(cls, valid)
    before = (explorer.state, explorer.message, explorer.image.value)
    with pytest.raises((ValueError, TypeError)) as by_set:
        explorer.set(**{control: bad})
    assert (explorer.state, explorer.message, explorer.image.value) == before
    for error in (by_constructor, by_set):
        assert _names_argument(str(error.value), control), str(error.value)


@pytest.mark.parametrize("kwargs, arg", [
    (dict(table=torch.zeros(10, 2)), "table"),
    (dict(table=torch.zeros(9, 2, dtype=torch.long)), "table"),
    (dict(table=[[0.0]]), "table"),
    (dict(table=torch.full((9, 2), NAN)), "table"),
    (dict(table=torch.zeros(9, 2), head=2), "head"),
    (dict(table=torch.zeros(9, 2), head=-1), "head"),
    (dict(table=torch.zeros(9, 2), head=None), "head"),
    (dict(head=1), "head"),
    (dict(table=torch.zeros(9, 2), window_size=3), "window_size"),
])
def test_relative_position_explorer_table_arguments(kwargs, arg):
    with pytest.raises((ValueError, TypeError)) as error:
        RelativePositionExplorer(**kwargs)
    assert _names_argument(str(error.value), arg), str(error.value)


@pytest.fixture(scope="module")
def explorer_cache():
    made: dict[type, Any] = {}

    def get(cls, valid):
        if cls not in made:
            made[cls] = cls(**valid)
        return made[cls]
    return get


CONSTANTS = {"VARIANTS", "PAPER_TABLE5_MS", "MASKED_VALUE", "SHIFT_RULES", "REACH_THRESHOLD",
             "PALETTE", "POSITIONS", "PAPER_TABLE4_TOP1",
             "Split", "History"}  # plain data: a dataclass of tensors, a record of lists


def test_every_public_name_is_covered():
    covered = {_name(fn).split(".")[0] for fn, _, _ in SPECS} | \
        {cls.__name__ for cls, _ in EXPLORERS}
    public = {name for module in (attention_module, variants_module, complexity_module,
                                  convert_module, masks_module, model_module, patches_module,
                                  relpos_module, widgets_module, windows_module,
                                  receptive_module, experiments_module)
              for name in module.__all__ if name not in CONSTANTS}
    assert public - covered == set()

