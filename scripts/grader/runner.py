"""The program the sandbox runs: the student's solution cells, then their functions on the inputs.

It runs inside :mod:`grader.sandbox` (bubblewrap: no network, no course files, no gradebook,
an unprivileged user, limits on time, memory and processes) with only the standard library,
``torch``, ``numpy``, ``einops`` and ``safetensors`` importable. Nothing it writes is trusted:
the grader reads back plain data (JSON and a safetensors file, never a pickle) and compares it
with the answers it computes itself, on inputs this process sees for the first time.

    python runner.py REQUEST_DIR OUTPUT_DIR

``REQUEST_DIR/request.json``: ``{"helpers": src, "setup": [src], "cells": [{"name", "source"}],
"calls": [{"function", "cases": [[arg, ...], ...]}]}`` where an ``arg`` is
``{"tensor": key}`` (a tensor of ``REQUEST_DIR/inputs.safetensors``), ``{"value": v}`` (a JSON
number, string, bool or null) or ``{"helper": name}`` (a function defined by ``helpers``).
``OUTPUT_DIR/response.json`` and ``OUTPUT_DIR/outputs.safetensors`` hold the answers.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import io
import json
import signal
import sys
import traceback
import types
import warnings
from pathlib import Path
from typing import Any

# Other implementations of the graded functions: not installed here, and refused by name so
# that the attempt is reported.
REFUSED = ("swin_edu", "grading", "grader", "transformers", "timm", "torchvision", "mmdet",
           "mmcv", "nbgrader")
MAX_TEXT = 2000
# Seconds one cell or one call may run; an endless loop then costs that function only.
STEP_SECONDS = 20


class StepTimeout(Exception):
    """A cell or a call ran longer than :data:`STEP_SECONDS`."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def stop(signum: int, frame: Any) -> None:
        raise StepTimeout(f"stopped after {seconds:g} s (an endless loop?)")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class RefuseReferences(importlib.abc.MetaPathFinder):
    """Refuses the course package and other Swin implementations, and remembers who asked."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in REFUSED and name not in sys.modules:
            self.attempts.append(name)
            raise ImportError(f"{name} cannot be imported while grading: write the code yourself")
        return None


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " [...]"


def _encode(value: Any, key: str, tensors: dict) -> dict:
    """A JSON description of one answer; tensors go to ``tensors`` under ``key``."""
    import torch
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().as_subclass(torch.Tensor).cpu().contiguous().clone()
        return {"type": kind, "tensor": key}
    if type(value) in (bool, int, str) or value is None:
        return {"type": kind, "value": value}
    if type(value) is float:
        return {"type": kind, "value": repr(value)}
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # numpy/torch scalars
        return {"type": kind, "number": repr(value.item() if hasattr(value, "item") else value)}
    return {"type": kind, "repr": _short(repr(value))}


def _arguments(case: list[dict], inputs: dict, namespace: dict) -> list[Any]:
    args = []
    for arg in case:
        if "tensor" in arg:
            args.append(inputs[arg["tensor"]].clone())
        elif "helper" in arg:
            args.append(namespace["__helpers__"][arg["helper"]])
        else:
            args.append(arg["value"])
    return args


def _given_modules(given: dict[str, list[str]], helpers: dict, refuse: RefuseReferences) -> None:
    """``swin_edu`` modules holding only what the assignment hands out (its locked imports);
    asking them for anything else is refused and reported."""
    def module(name: str) -> types.ModuleType:
        if name not in sys.modules:
            new = types.ModuleType(name)

            def missing(attribute: str, name: str = name) -> Any:
                if attribute.startswith("__"):
                    raise AttributeError(attribute)
                refuse.attempts.append(f"{name}.{attribute}")
                raise AttributeError(f"{name}.{attribute} is not available while grading")
            new.__getattr__ = missing  # type: ignore[attr-defined]
            new.__path__ = []  # type: ignore[attr-defined]
            sys.modules[name] = new
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(module(parent), child, new)
        return sys.modules[name]
    for name, functions in given.items():
        for function in functions:
            setattr(module(name), function, helpers[function])


def _run_cells(request: dict, namespace: dict, notes: list[str]) -> None:
    for cell in request["cells"]:
        try:
            with time_limit(request.get("step_seconds", STEP_SECONDS)):
                exec(compile(cell["source"], f"<cell {cell['name']}>", "exec"), namespace)
        except BaseException as error:  # the student's cell failed; their functions may remain
            notes.append(f"cell {cell['name']} raised {type(error).__name__}: "
                         f"{_short(str(error))}")


def _call_all(request: dict, inputs: dict, namespace: dict, tensors: dict) -> list[dict]:
    results = []
    for call in request["calls"]:
        function = namespace.get(call["function"])
        answers = []
        for position, case in enumerate(call["cases"]):
            if not callable(function):
                answers.append({"type": "missing", "repr": type(function).__name__})
                continue
            try:
                with time_limit(request.get("step_seconds", STEP_SECONDS)):
                    value = function(*_arguments(case, inputs, namespace))
                answers.append(_encode(value, f"{call['function']}/{position}", tensors))
            except BaseException as error:  # reported with the input; never stops the others
                answers.append({"type": "exception", "name": type(error).__name__,
                                "message": _short(str(error))})
        results.append({"function": call["function"], "answers": answers})
    return results


def main(request_dir: str, output_dir: str) -> None:
    refuse = RefuseReferences()
    sys.meta_path.insert(0, refuse)
    import torch
    from safetensors.torch import load_file, save_file
    torch.manual_seed(0)
    request = json.loads((Path(request_dir) / "request.json").read_text())
    inputs = load_file(str(Path(request_dir) / "inputs.safetensors"))
    helpers: dict = {"torch": torch}
    exec(compile(request["helpers"], "<helpers>", "exec"), helpers)
    _given_modules(request.get("given", {}), helpers, refuse)
    namespace: dict = {"__name__": "__main__"}
    for source in request["setup"]:
        exec(compile(source, "<setup>", "exec"), namespace)
    namespace["__helpers__"] = {k: v for k, v in helpers.items() if callable(v) and k != "torch"}
    notes: list[str] = []
    printed = io.StringIO()
    tensors: dict = {}
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed), \
            contextlib.redirect_stderr(printed):
        warnings.simplefilter("always")
        _run_cells(request, namespace, notes)
        results = _call_all(request, inputs, namespace, tensors)
    response = {"results": results, "notes": notes, "printed": _short(printed.getvalue()),
                "warnings": sorted({_short(f"{w.category.__name__}: {w.message}")
                                    for w in caught}),
                "refused_imports": sorted(set(refuse.attempts))}
    save_file(tensors, str(Path(output_dir) / "outputs.safetensors"))
    (Path(output_dir) / "response.json").write_text(json.dumps(response))


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except BaseException:
        traceback.print_exc()
        sys.exit(3)
