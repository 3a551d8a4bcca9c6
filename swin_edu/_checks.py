"""Argument checks shared by every module: one vocabulary for the whole package.

Every failure names the argument, the value it got and what to do instead:

- a value of the wrong *type* raises :class:`ArgumentTypeError`, which is both a
  ``TypeError`` (Python's convention) and a ``ValueError`` (the course's: "bad input gets a
  clear ValueError"), so either ``except`` catches it;
- a value of the right type outside its range raises ``ValueError``.

Integers are ``numbers.Integral`` (Python and NumPy integers; ``torch.SymInt`` under
``torch.compile``/``torch.export``) but never ``bool``: ``True`` is not a window size.
Real numbers are ``numbers.Real`` (not ``bool``), finite unless a check says otherwise.

Sizes arriving as tensors mean the code is being traced by ``torch.jit.trace``, which would
bake every Python-computed size (window orders, masks, padding) into the graph and give
silently wrong results at other input sizes: swin_edu refuses it (see :func:`refuse_jit`);
``torch.compile`` and ``torch.export`` trace these sizes correctly and are supported.

Memory: :func:`check_memory` refuses a request (a mask, an index, a parameter table, a padded
map, a forward pass's activations) larger than the limit, with the figure in the message,
before anything reaches the allocator. The limit follows the device (available RAM, or free
CUDA memory) unless set with ``SWIN_EDU_MEMORY_LIMIT`` or ``swin_edu.set_memory_limit``: see
:mod:`swin_edu.memory`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from swin_edu.memory import check_memory  # noqa: F401 (one vocabulary: re-exported)

__all__ = ["ArgumentTypeError", "check_int", "check_positive",
           "check_real", "check_probability", "check_rank", "check_divisible", "check_shift",
           "check_memory", "check_bool", "check_floating", "refuse_jit", "divisors",
           "NotScriptable"]

_JIT_MESSAGE = ("torch.jit.trace/torch.jit.script are not supported by swin_edu: the window "
                "order, masks and padding are computed in Python from the input size, which "
                "a trace would freeze (wrong results at any other size) and TorchScript cannot "
                "compile. Use torch.compile(model) or torch.export.export(model, (x,)) instead")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type: both a ``TypeError`` and a ``ValueError``."""


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n``, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def _is_int(value: Any) -> bool:
    return (isinstance(value, (numbers.Integral, torch.SymInt))
            and not isinstance(value, bool))


def refuse_jit(what: str = "") -> None:
    """Raise the package's message when called under ``torch.jit.trace``."""
    if torch.jit.is_tracing():
        raise RuntimeError(_JIT_MESSAGE + (f" ({what})" if what else ""))


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None,
              hint: str = "") -> int:
    """``value`` as an ``int`` if it is an integer in ``[low, high]`` (either end optional).

    Raises:
        ArgumentTypeError: not an integer (``bool``, ``float``, ``str``, ``None``, tensor...).
        ValueError: outside the range.
    """
    if isinstance(value, torch.Tensor) and torch.jit.is_tracing():
        raise RuntimeError(f"{name}={value!r}: {_JIT_MESSAGE}")
    if not _is_int(value):
        raise ArgumentTypeError(f"{name}={value!r} ({type(value).__name__}) must be an integer"
                                f"{_range_text(low, high)}{_hint(hint)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} is outside the allowed range"
                         f"{_range_text(low, high)}{_hint(hint)}")
    return value if isinstance(value, torch.SymInt) else int(value)


def check_positive(name: str, value: Any, hint: str = "") -> int:
    """An integer ``>= 1`` (sizes, counts, window sizes)."""
    return check_int(name, value, low=1, hint=hint)


def check_real(name: str, value: Any, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, finite: bool = True,
               hint: str = "") -> float:
    """``value`` as a ``float`` if it is a real number in the range (ends closed unless
    ``low_open``/``high_open``); NaN is always refused, infinities unless ``finite=False``."""
    if isinstance(value, torch.Tensor) and torch.jit.is_tracing():
        raise RuntimeError(f"{name}={value!r}: {_JIT_MESSAGE}")
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ArgumentTypeError(f"{name}={value!r} ({type(value).__name__}) must be a real "
                                f"number{_interval(low, high, low_open, high_open)}"
                                f"{_hint(hint)}")
    number = float(value)
    if math.isnan(number) or (finite and math.isinf(number)) \
            or (low is not None and (number < low or (low_open and number == low))) \
            or (high is not None and (number > high or (high_open and number == high))):
        raise ValueError(f"{name}={value!r} must be a finite number"
                         f"{_interval(low, high, low_open, high_open)}{_hint(hint)}")
    return number


def check_probability(name: str, value: Any, allow_one: bool = False, hint: str = "") -> float:
    """A rate in ``[0, 1)`` (``[0, 1]`` with ``allow_one``): dropout, drop path."""
    return check_real(name, value, 0.0, 1.0, high_open=not allow_one, hint=hint)


def check_bool(name: str, value: Any) -> bool:
    """A real ``bool`` (``0``/``1``/``"yes"`` refused: a typo there hides a wrong model)."""
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name}={value!r} ({type(value).__name__}) must be True or "
                                f"False")
    return value


def check_module(name: str, value: Any) -> None:
    """``value`` is a ``torch.nn.Module``."""
    if not isinstance(value, torch.nn.Module):
        raise ArgumentTypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")


def check_swin(name: str, model: Any) -> None:
    """``model`` has what a swin_edu ``SwinTransformer`` has (checked by attribute: this
    module cannot import the model)."""
    check_module(name, model)
    missing = [a for a in ("patch_size", "embed_dim", "window_size", "layers", "num_heads",
                           "mlp_ratio", "patch_embed") if not hasattr(model, a)]
    if missing:
        raise ArgumentTypeError(f"{name} must be a swin_edu SwinTransformer (it lacks "
                                f"{missing}), got {type(model).__name__}")


def image_pair(image_size: Any, name: str = "image_size") -> tuple[int, int]:
    """``H`` or ``(H, W)`` -> ``(H, W)``, both positive integers."""
    if isinstance(image_size, (tuple, list)):
        if len(image_size) != 2:
            raise ValueError(f"{name}={image_size!r} has {len(image_size)} entries; expected H "
                             f"or a pair (H, W)")
        return (check_positive(f"{name}[0]", image_size[0]),
                check_positive(f"{name}[1]", image_size[1]))
    size = check_positive(name, image_size, hint="or a pair (H, W)")
    return size, size


def check_int_pair(name: str, value: Any, low: int | None = None) -> tuple[int, int]:
    """``value`` as two integers ``>= low`` (a position ``(row, col)`` or a size)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ArgumentTypeError(f"{name}={value!r} must be a pair of integers (row, col)")
    return check_int(f"{name}[0]", value[0], low=low), check_int(f"{name}[1]", value[1], low=low)


def check_rank(name: str, x: Any, rank: int, layout: str) -> None:
    """``x`` is a tensor with ``rank`` dimensions, described by ``layout``."""
    if not isinstance(x, torch.Tensor):
        raise ArgumentTypeError(f"{name} must be a torch.Tensor of shape {layout}, got "
                                f"{type(x).__name__}")
    if x.dim() != rank:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)} (rank {x.dim()}); expected rank {rank}, {layout}"
        )


def check_floating(name: str, x: torch.Tensor, like: torch.Tensor | None = None) -> None:
    """``x`` holds floating-point numbers (of ``like``'s dtype when given)."""
    if not x.is_floating_point():
        image = (" and scale it (uint8 images: / 255, then normalise as the model was trained)"
                 if x.dtype == torch.uint8 else "")
        raise ArgumentTypeError(f"{name} has dtype {x.dtype}; expected a floating-point "
                                f"tensor (convert with {name}.float(){image})")
    if like is not None and x.dtype != like.dtype and not torch.is_autocast_enabled(
            x.device.type):  # autocast converts inputs itself
        raise ArgumentTypeError(f"{name} has dtype {x.dtype} but the weights are {like.dtype}; "
                                f"convert with {name}.to({like.dtype}) or the model with "
                                f".to({x.dtype})")


def check_divisible(name: str, size: int, window_size: int) -> None:
    if size % window_size != 0:
        padded = -(-size // window_size) * window_size
        raise ValueError(
            f"{name}={size} is not divisible by window_size={window_size}; pad to {padded} "
            f"(swin_edu.windows.pad_to_window) or pick window_size in {divisors(size)}"
        )


def check_shift(shift_size: Any, window_size: int, name: str = "shift_size") -> int:
    """``0 <= shift_size < window_size``."""
    if isinstance(shift_size, torch.Tensor) and torch.jit.is_tracing():
        raise RuntimeError(f"{name}={shift_size!r}: {_JIT_MESSAGE}")
    if not _is_int(shift_size):
        raise ArgumentTypeError(f"{name}={shift_size!r} ({type(shift_size).__name__}) must be "
                                f"an integer in [0, window_size={window_size}); the paper uses "
                                f"window_size // 2 = {window_size // 2}")
    if not 0 <= shift_size < window_size:
        raise ValueError(
            f"{name}={shift_size!r} must be an integer in [0, window_size={window_size}); "
            f"the paper uses window_size // 2 = {window_size // 2}"
        )
    return int(shift_size)


class NotScriptable:
    """Mixin for ``nn.Module`` s: ``torch.jit.script`` stops with the package's message
    (``torch.jit.script`` calls ``__prepare_scriptable__`` on a module and its children)."""

    def __prepare_scriptable__(self):
        raise RuntimeError(f"{type(self).__name__}: {_JIT_MESSAGE}")


def _hint(hint: str) -> str:
    return f"; {hint}" if hint else ""


def _range_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return ""
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return (f" in {left}{'-inf' if low is None else low}, "
            f"{'inf' if high is None else high}{right}")
