"""Kernel-free explorers for the course website: every state precomputed by the package.

A static page has no Python kernel, so the website's explorers (``book/_static/explorers.js``)
only look up and draw what this module computed at build time with the package's own
functions: ``shifted_window_mask``, ``region_labels``, ``token_reach``,
``relative_position_index``, ``msa_flops``/``wmsa_flops``, ``merge_patches``,
``stage_shapes``. No mask, index
or formula is re-implemented in JavaScript. Invalid combinations carry the message the
ipywidgets explorer shows for them (the ``ValueError`` text, read off the explorer itself).

``explorer_data()`` returns everything as one JSON-ready dict; ``write_explorer_data(path)``
writes it as a JavaScript file that sets ``window.SWIN_EDU_EXPLORERS`` (a script, not a
``fetch``, so the pages also work opened from disk).

Used by ``scripts/build_site.py`` (``make book``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from matplotlib.colors import to_hex

from swin_edu.complexity import msa_flops, wmsa_flops
from swin_edu.masks import MASKED_VALUE, region_labels, shifted_window_mask
from swin_edu.relative_position import relative_coords
from swin_edu.viz._style import MASK_CMAP, MERGE_COLOURS, REGION_COLOURS, SHIFTED_EDGE
from swin_edu.viz.complexity import complexity_terms
from swin_edu.viz.masks import _REACH_CMAP, token_reach, window_token_ids
from swin_edu.viz.patches import merge_source_codes
from swin_edu.viz.relative_position import bias_row
from swin_edu.windows import check_window_args, window_partition

__all__ = ["MASK_SIDES", "MASK_WINDOWS", "RELPOS_WINDOWS", "COMPLEXITY_SIDES",
           "COMPLEXITY_CHANNELS", "COMPLEXITY_WINDOWS", "MERGING_SIDES", "SHAPES_SIZES",
           "mask_states", "relpos_states", "complexity_states", "merging_states", "shapes_states", "explorer_data",
           "write_explorer_data", "state_counts"]

# The bounded state sets the website offers (the notebooks' widgets allow more).
MASK_SIDES = tuple(range(1, 9))            # H and W
MASK_WINDOWS = tuple(range(1, 9))          # M; S runs over 0..max(M)-1
RELPOS_WINDOWS = tuple(range(1, 9))        # M, as the widget's slider
COMPLEXITY_SIDES = (7, 8, 14, 16, 28, 32, 56, 64, 112, 128)
COMPLEXITY_CHANNELS = (32, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
COMPLEXITY_WINDOWS = tuple(range(1, 17))
MERGING_SIDES = tuple(range(1, 17))        # as the widget's sliders
SHAPES_SIZES = tuple(range(32, 1025, 32))  # image sizes of the shape tracer


def _bits(values: np.ndarray) -> str:
    """A bool array as a string of ``0``/``1`` (row-major)."""
    return "".join("1" if v else "0" for v in np.asarray(values, dtype=bool).flatten())


def _message_of(explorer: Any, messages: list[str], **values: Any) -> int:
    """The message the ipywidgets explorer shows for an invalid combination, as its index
    in ``messages`` (appended if new: many combinations share one message)."""
    explorer.set(**values)
    if not explorer.message:
        raise AssertionError(f"{type(explorer).__name__} accepts {values}; expected a message")
    if explorer.message not in messages:
        messages.append(explorer.message)
    return messages.index(explorer.message)


def mask_states(sides: Iterable[int] = MASK_SIDES,
                windows: Iterable[int] = MASK_WINDOWS) -> dict[str, Any]:
    """Every ``(H, W, M, S)`` of the mask explorer's bounded ranges.

    Returns ``{"sides", "windows", "shifts", "masked_value", "states"}``; ``states`` maps
    ``"H,W,M,S"`` to either an int, the index in ``messages`` of the ``MaskExplorer``
    message for that invalid combination, or:
    ``labels`` ``(H*W,)`` (``region_labels``, rolled map), ``ids`` ``(nW, N)`` original ids
    of each window's tokens (``window_token_ids``), ``mask`` ``nW`` strings of ``N*N`` bits
    (1 = ``shifted_window_mask`` entry is ``MASKED_VALUE``), ``masked_pairs`` ``(nW,)`` and
    ``reach`` ``H*W`` strings of ``H*W`` bits: ``token_reach`` of each original token.
    """
    from swin_edu.widgets import MaskExplorer

    sides, windows = tuple(sides), tuple(windows)
    shifts = tuple(range(max(windows)))
    explorer = MaskExplorer(H=max(sides), W=max(sides), window_size=1, shift_size=0,
                            window=0, query=0)
    states: dict[str, Any] = {}
    messages: list[str] = []
    try:
        for H in sides:
            for W in sides:
                for M in windows:
                    for S in shifts:
                        states[f"{H},{W},{M},{S}"] = _mask_state(explorer, messages, H, W, M, S)
    finally:
        explorer.close()
    return {"sides": list(sides), "windows": list(windows), "shifts": list(shifts),
            "masked_value": MASKED_VALUE, "messages": messages, "states": states}


def _mask_state(explorer: Any, messages: list[str], H: int, W: int, M: int,
                S: int) -> dict[str, Any] | int:
    try:
        check_window_args(H, W, M, S)
    except ValueError:
        return _message_of(explorer, messages, H=H, W=W, window_size=M, shift_size=S)
    mask = shifted_window_mask(H, W, M, S).numpy()  # (nW, N, N)
    ids = window_token_ids(H, W, M, S).numpy()  # (nW, N)
    labels = region_labels(H, W, M, S)
    reach = [_bits(token_reach(H, W, M, S, divmod(t, W)).numpy()) for t in range(H * W)]
    return {"labels": labels.flatten().tolist(),
            "slot_labels": window_partition(labels[None, :, :, None], M).reshape(
                len(ids), -1).tolist(),
            "rolled_window": _window_of(window_token_ids(H, W, M, 0).numpy(), H * W),
            "window_of": _window_of(ids, H * W),
            "ids": ids.tolist(),
            "mask": [_bits(m != 0) for m in mask],
            "masked_pairs": [int((m != 0).sum()) for m in mask],
            "reach": reach}


def _window_of(ids: np.ndarray, n: int) -> list[int]:
    """``(n,)``: the window (row of ``ids``, ``(nW, N)``) that holds each token id."""
    owner = np.empty(n, dtype=int)
    for window, tokens in enumerate(ids):
        owner[tokens] = window
    return owner.tolist()


def relpos_states(windows: Iterable[int] = RELPOS_WINDOWS) -> dict[str, Any]:
    """Every ``(M, query)``: ``states["M"]`` holds, per query, ``index`` ``(M*M,)`` (the table
    row each key reads, ``bias_row(M, q)["index"]``) and ``dy``/``dx`` ``(M*M,)``
    (``relative_coords(M)[q]``)."""
    states = {}
    for M in windows:
        coords = relative_coords(M).numpy()  # (N, N, 2)
        states[str(M)] = [{"index": bias_row(M, q)["index"].flatten().tolist(),
                           "dy": coords[q, :, 0].tolist(), "dx": coords[q, :, 1].tolist()}
                          for q in range(M * M)]
    return {"windows": list(windows), "states": states}


def complexity_states(sides: Iterable[int] = COMPLEXITY_SIDES,
                      channels: Iterable[int] = COMPLEXITY_CHANNELS,
                      windows: Iterable[int] = COMPLEXITY_WINDOWS) -> dict[str, Any]:
    """Every ``(h, w, C, M)``: ``states["h,w,C,M"]`` is ``[msa, wmsa, projections]``
    (``msa_flops``, ``wmsa_flops``, ``complexity_terms``'s shared ``4hwC^2``), or the
    index in ``messages`` of the ``ComplexityExplorer`` message when ``M`` exceeds the map."""
    from swin_edu.widgets import ComplexityExplorer

    sides, channels, windows = tuple(sides), tuple(channels), tuple(windows)
    explorer = ComplexityExplorer(h=max(sides), w=max(sides), C=channels[0], M=1)
    states: dict[str, Any] = {}
    messages: list[str] = []
    try:
        for h in sides:
            for w in sides:
                for C in channels:
                    for M in windows:
                        key = f"{h},{w},{C},{M}"
                        if M > h or M > w:
                            states[key] = _message_of(explorer, messages, h=h, w=w, C=C, M=M)
                            continue
                        terms = complexity_terms(h, w, C, M)
                        states[key] = [msa_flops(h, w, C), wmsa_flops(h, w, C, M),
                                       terms["projections"]]
    finally:
        explorer.close()
    return {"sides": list(sides), "channels": list(channels), "windows": list(windows),
            "messages": messages, "states": states}


def merging_states(sides: Iterable[int] = MERGING_SIDES) -> dict[str, Any]:
    """Every ``(H, W)`` of the patch merging explorer: ``sources`` ``(H*W,)`` codes 0..3
    (``merge_source_codes``) and ``merged`` ``(H/2 * W/2, 4)`` input positions per merged
    token, in channel order x0..x3 (``merge_patches`` of ``0..HW-1``); or, for odd sides, the
    index in ``messages`` of the ``PatchMergingExplorer`` message."""
    import torch

    from swin_edu.patches import merge_patches
    from swin_edu.widgets import PatchMergingExplorer

    sides = tuple(sides)
    explorer = PatchMergingExplorer(H=2, W=2, token=0)
    states: dict[str, Any] = {}
    messages: list[str] = []
    try:
        for H in sides:
            for W in sides:
                if H % 2 or W % 2:
                    states[f"{H},{W}"] = _message_of(explorer, messages, H=H, W=W, token=0)
                    continue
                x = torch.arange(H * W, dtype=torch.float32).view(1, H, W, 1)
                merged = merge_patches(x)[0].long().reshape(-1, 4)
                states[f"{H},{W}"] = {"sources": merge_source_codes(H, W).flatten().tolist(),
                                      "merged": merged.tolist()}
    finally:
        explorer.close()
    return {"sides": list(sides), "messages": messages, "states": states}


def shapes_states(sizes: Iterable[int] = SHAPES_SIZES) -> dict[str, Any]:
    """Every ``(variant, image size)`` of the shape tracer: ``states["T,224"]`` is
    ``swin_edu.model.stage_shapes("T", 224)`` (steps with ``name``, ``shape`` channels-last,
    and for stages ``padded`` and ``window_grid``)."""
    from swin_edu.model import VARIANTS, stage_shapes

    sizes = tuple(sizes)
    states = {f"{variant},{size}": [{k: list(v) if isinstance(v, tuple) else v
                                     for k, v in step.items()}
                                    for step in stage_shapes(variant, size)]
              for variant in VARIANTS for size in sizes}
    return {"variants": list(VARIANTS), "sizes": list(sizes), "states": states}


def explorer_data() -> dict[str, Any]:
    """All kernel-free explorers' states plus the package's colours."""
    return {"palette": {"regions": list(REGION_COLOURS),
                        "mask": [to_hex(c) for c in MASK_CMAP.colors],  # [masked, allowed]
                        "merge": list(MERGE_COLOURS), "shifted_edge": SHIFTED_EDGE,
                        "reach": [to_hex(c) for c in _REACH_CMAP.colors],  # [out, in, query]
                        "read": REGION_COLOURS[4]},
            "mask": mask_states(), "relpos": relpos_states(),
            "complexity": complexity_states(), "merging": merging_states(),
            "shapes": shapes_states()}


def state_counts(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """How many states each explorer offers: ``valid``/``invalid`` control combinations and
    ``views`` (valid combinations times the windows and queries, or tokens, one can pick)."""
    counts = {}
    for name in ("mask", "complexity", "merging"):
        states = data[name]["states"].values()
        valid = [s for s in states if not isinstance(s, int)]
        if name == "mask":
            views = sum(len(s["ids"]) * len(s["ids"][0]) for s in valid)
        elif name == "merging":
            views = sum(len(s["merged"]) for s in valid)
        else:
            views = len(valid)
        counts[name] = {"valid": len(valid), "invalid": len(states) - len(valid),
                        "views": views}
    counts["shapes"] = {"valid": len(data["shapes"]["states"]), "invalid": 0,
                        "views": len(data["shapes"]["states"])}
    relpos = data["relpos"]["states"]
    counts["relpos"] = {"valid": len(relpos), "invalid": 0,
                        "views": sum(len(v) for v in relpos.values())}
    return counts


def write_explorer_data(path: str | Path) -> dict[str, dict[str, int]]:
    """Write ``window.SWIN_EDU_EXPLORERS = {...};`` to ``path``; returns ``state_counts``."""
    data = explorer_data()
    Path(path).write_text("window.SWIN_EDU_EXPLORERS = "
                          + json.dumps(data, separators=(",", ":")) + ";\n")
    return state_counts(data)


if __name__ == "__main__":
    import sys
    import time

    start = time.perf_counter()
    counts = write_explorer_data(sys.argv[1] if len(sys.argv) > 1 else "explorers-data.js")
    print(counts, f"{time.perf_counter() - start:.1f} s")
