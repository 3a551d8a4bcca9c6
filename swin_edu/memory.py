"""The memory guard: how much memory one swin_edu request may ask for, and where that comes from.

Before a swin_edu constructor or function allocates something large (a bias table, an index,
a padded map, a mask, a model's parameters, a forward pass's activations) it asks
:func:`check_memory` (in ``swin_edu._checks``) whether the bytes fit under the limit; a request
that does not is refused at once with a ``ValueError`` saying what was asked, the limit, where
the limit came from and how to raise it, before anything reaches the allocator.

The limit, first match wins:

1. set by :func:`set_memory_limit` (``swin_edu.set_memory_limit("8GiB")``; ``None`` clears it);
2. the environment variable ``SWIN_EDU_MEMORY_LIMIT`` (bytes, or ``8GiB``, ``512MiB``, ``2GB``),
   read at every check, so it can be changed while a kernel runs;
3. the device's free memory: on the CPU the available RAM (``MemAvailable`` in
   ``/proc/meminfo``, else ``os.sysconf``), on CUDA what ``torch.cuda.mem_get_info`` reports
   free plus what PyTorch's caching allocator holds unused, for the device the tensor or
   module is on. Meta tensors take no memory and have no limit.

:func:`memory_limit` tells the limit in bytes and :func:`memory_limit_source` where it came
from. Under the device default, requests below :data:`SMALL_REQUEST_BYTES` pass without
reading the device (a check on every small mask would cost more than it guards); an explicit
limit checks every request.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any, Iterator

__all__ = ["ENV_VAR", "SMALL_REQUEST_BYTES", "parse_memory_size", "set_memory_limit",
           "memory_limit", "memory_limit_source", "using_memory_limit", "device_free_bytes",
           "available_ram", "default_element_size"]

ENV_VAR = "SWIN_EDU_MEMORY_LIMIT"
SMALL_REQUEST_BYTES = 64 * 1024 ** 2
"""Under the device default, requests below this (64 MiB) are not checked."""

_UNITS = {"": 1, "B": 1,
          "KB": 10 ** 3, "MB": 10 ** 6, "GB": 10 ** 9, "TB": 10 ** 12,
          "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4,
          "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "TIB": 1024 ** 4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")
_FALLBACK_BYTES = 4 * 1024 ** 3

_set_limit: int | None = None  # set_memory_limit's value, bytes
_RAISE = (f"raise it with the environment variable {ENV_VAR} (e.g. {ENV_VAR}=16GiB) or "
          f"swin_edu.set_memory_limit('16GiB')")


def parse_memory_size(value: Any, name: str = "limit") -> int:
    """Bytes from ``value``: a positive integer, or a string such as ``"8GiB"``, ``"512MiB"``,
    ``"2GB"``, ``"1.5G"`` or ``"1000000"`` (``KiB/MiB/GiB/TiB`` and ``K/M/G/T`` are powers of
    1024, ``KB/MB/GB/TB`` powers of 1000; case does not matter).

    Raises:
        ValueError: anything else, naming ``name`` (the argument or the variable).
    """
    expected = (f"expected a positive number of bytes, or a size such as '8GiB', '512MiB', "
                f"'2GB'")
    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not a memory size; {expected}")
    if isinstance(value, int):
        number, unit = value, ""
    elif isinstance(value, str):
        match = _SIZE.match(value)
        if not match or match.group(2).upper() not in _UNITS:
            raise ValueError(f"{name}={value!r} is not a memory size; {expected}")
        number, unit = float(match.group(1)), match.group(2).upper()
    else:
        raise ValueError(f"{name}={value!r} ({type(value).__name__}) is not a memory size; "
                         f"{expected}")
    nbytes = int(number * _UNITS[unit])
    if nbytes < 1:
        raise ValueError(f"{name}={value!r} is not a memory size; {expected}")
    return nbytes


def set_memory_limit(limit: int | str | None) -> int | None:
    """Set the largest request swin_edu accepts (bytes, or e.g. ``"8GiB"``); ``None`` goes back
    to ``SWIN_EDU_MEMORY_LIMIT`` or the device's free memory. Returns the previous setting
    (bytes or ``None``), so that ``set_memory_limit(previous)`` restores it."""
    global _set_limit
    previous = _set_limit
    _set_limit = None if limit is None else parse_memory_size(limit, "limit")
    return previous


@contextlib.contextmanager
def using_memory_limit(limit: int | str | None) -> Iterator[None]:
    """``with using_memory_limit("1GiB"): ...``: :func:`set_memory_limit` for a block."""
    previous = set_memory_limit(limit)
    try:
        yield
    finally:
        set_memory_limit(previous)


def _explicit() -> tuple[int, str] | None:
    if _set_limit is not None:
        return _set_limit, "set by swin_edu.set_memory_limit"
    text = os.environ.get(ENV_VAR)
    if text is not None and text.strip():
        return parse_memory_size(text, ENV_VAR), f"from the environment variable {ENV_VAR}={text!r}"
    return None


def _resolve(device: Any = None) -> tuple[int, str]:
    explicit = _explicit()
    return explicit if explicit is not None else device_free_bytes(device)


def memory_limit(device: Any = None) -> int:
    """The limit in bytes for a request on ``device`` (default: torch's default device)."""
    return _resolve(device)[0]


def memory_limit_source(device: Any = None) -> str:
    """Where :func:`memory_limit` comes from, in words."""
    return _resolve(device)[1]


def _as_device(device: Any):
    import torch
    if device is None:
        return torch.get_default_device()
    return torch.device(device)


def device_free_bytes(device: Any = None) -> tuple[int, str]:
    """``(bytes, source)``: what ``device`` can still allocate (see the module's docstring)."""
    import torch
    device = _as_device(device)
    if device.type == "meta":
        return 2 ** 63 - 1, "meta tensors take no memory"
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, _ = torch.cuda.mem_get_info(index)
        cached = torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index)
        return free + cached, (f"the free memory of cuda:{index} (torch.cuda.mem_get_info plus "
                               f"PyTorch's unused cache)")
    return available_ram()


def available_ram() -> tuple[int, str]:
    """``(bytes, source)``: the RAM available to a new allocation."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return (int(line.split()[1]) * 1024,
                            "the available RAM (MemAvailable in /proc/meminfo)")
    except (OSError, ValueError, IndexError):
        pass
    for pages, what in (("SC_AVPHYS_PAGES", "the free RAM"),
                        ("SC_PHYS_PAGES", "half the physical RAM")):
        try:
            nbytes = os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            continue
        if nbytes > 0:
            return (nbytes if pages == "SC_AVPHYS_PAGES" else nbytes // 2,
                    f"{what} (os.sysconf)")
    return _FALLBACK_BYTES, "a fixed 4 GiB (the RAM could not be read)"


def check_memory(what: str, nbytes: int, hint: str = "", device: Any = None) -> None:
    """Refuse (``ValueError``) a request of ``nbytes`` bytes on ``device`` beyond the limit."""
    import torch
    if torch.compiler.is_compiling():  # no file or device reads inside a traced graph
        if _set_limit is None or nbytes <= _set_limit:
            return
        limit, source = _set_limit, "set by swin_edu.set_memory_limit"
    else:
        explicit = _explicit()
        if explicit is None and nbytes < SMALL_REQUEST_BYTES:
            return
        limit, source = explicit if explicit is not None else device_free_bytes(device)
    if nbytes > limit:
        raise ValueError(f"{what} would need {_gib(nbytes)} of memory, more than swin_edu's "
                         f"limit of {_gib(limit)} ({source}); "
                         f"{hint or 'use a smaller size or batch'}; or {_RAISE}")


def _gib(nbytes: int) -> str:
    return f"{nbytes / 1024 ** 3:.1f} GiB ({int(nbytes):,} bytes)"


def default_element_size() -> int:
    """Bytes per element of torch's default dtype (what a new parameter is made of)."""
    import torch
    return torch.finfo(torch.get_default_dtype()).bits // 8
