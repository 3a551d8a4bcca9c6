"""The hidden inputs, drawn at grading time from a secret only the teacher holds.

Nothing here ships to students: the package and the released notebooks hold only the visible
checks. For every (assignment, function, student, submission) the grader derives a seed from
the course's secret (``<course>/.grader/secret``, created on first use, readable by the teacher
only) with HMAC-SHA256, and draws the sizes (non-square maps, several window sizes and shifts,
batch sizes, channel counts) and the values from it. The same submission gets the same inputs
on every re-grade; a new submission, another student or another course gets new ones, so an
answer computed in advance cannot match.

An argument is a tensor, a plain number, ``None`` or the name of a helper function the sandbox
defines (``toy_attention``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from swin_edu.grading import Case
from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.relative_position import relative_position_index
from swin_edu.windows import window_partition

SECRET = Path(".grader") / "secret"
CASES_PER_FUNCTION = 3


@dataclass(frozen=True)
class Helper:
    """An argument that is a function the sandbox defines (sent by name, never as data)."""

    name: str


def course_secret(course: Path) -> bytes:
    """The course's secret, created on first use (mode 0600 in a 0700 folder). Safe when
    several graders start at once: the secret is written to a private temporary file and
    linked into place, and whoever links second reads the first one's."""
    path = course / SECRET
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        temporary = path.with_name(f"secret.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return bytes.fromhex(path.read_text().strip())


def derive_seed(secret: bytes, *parts: str) -> int:
    """A 63-bit seed from the secret and the names (HMAC-SHA256)."""
    digest = hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Draw:
    """Sizes from a ``random.Random`` and tensors from a ``torch.Generator``, both seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.generator = torch.Generator().manual_seed(seed)

    def int(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: list) -> Any:
        return self.rng.choice(options)

    def normal(self, *shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator)

    def distinct(self, *shape: int) -> torch.Tensor:
        count = 1
        for size in shape:
            count *= size
        return torch.randperm(count, generator=self.generator).float().reshape(shape)

    def grid(self, windows: int = 3) -> tuple[int, int, int]:
        """``(H, W, M)``: a map of at least 2 x 2 whole windows, never square (a row or a
        column of windows would hide an order mistake, a square map a transposition)."""
        M = self.choice([2, 3, 4, 7])
        rows = self.int(2, windows)
        cols = self.choice([c for c in range(2, windows + 2) if c != rows])
        return rows * M, cols * M, M

    def batch(self, position: int) -> int:
        """A batch size; the first case of each function has two images (one would hide a
        mix-up of images)."""
        return 2 if position == 0 else self.int(1, 3)

    def shift(self, window_size: int, position: int) -> int:
        """A shift in ``[0, M)``: the first case of each function shifts, the second does not
        (each hides its own mistakes), later ones draw."""
        if position == 1:
            return 0
        return self.int(1 if position == 0 else 0, window_size - 1)


def _patch_partition(d: Draw, i: int) -> Case:
    P = d.choice([2, 3, 4])
    H = P * d.int(1, 4)
    W = P * d.choice([n for n in range(2, 6) if n * P != H])
    B, C = d.batch(i), d.int(2, 4)
    return Case(f"images ({B}, {C}, {H}, {W}), patch_size={P}", (d.normal(B, C, H, W), P))


def _merge_patches(d: Draw, i: int) -> Case:
    H = 2 * d.int(2, 5)
    B, W, C = d.batch(i), 2 * d.choice([n for n in range(2, 6) if 2 * n != H]), d.int(2, 6)
    return Case(f"x ({B}, {H}, {W}, {C})", (d.normal(B, H, W, C),))


def _window_partition(d: Draw, i: int) -> Case:
    (H, W, M), B, C = d.grid(), d.batch(i), d.int(1, 4)
    return Case(f"x ({B}, {H}, {W}, {C}), window_size={M}", (d.normal(B, H, W, C), M))


def _window_reverse(d: Draw, i: int) -> Case:
    (H, W, M), B, C = d.grid(), d.batch(i), d.int(1, 4)
    return Case(f"windows of x ({B}, {H}, {W}, {C}), window_size={M}",
                (window_partition(d.normal(B, H, W, C), M), M, H, W))


def _relative_position_index(d: Draw, i: int) -> Case:
    M = d.int(2, 8)
    return Case(f"window_size={M}", (M,))


def _lookup_bias(d: Draw, i: int) -> Case:
    M, heads = d.int(2, 7), d.int(1, 4)
    return Case(f"window_size={M}, num_heads={heads}",
                (d.normal((2 * M - 1) ** 2, heads), relative_position_index(M)))


def _cyclic_shift(d: Draw, i: int) -> Case:
    B, H, C = d.batch(i), d.int(3, 14), d.int(1, 4)
    W = d.choice([n for n in range(3, 15) if n != H])
    S = d.int(1 if i == 0 else 0, min(H, W) - 1)
    return Case(f"x ({B}, {H}, {W}, {C}), shift_size={S}", (d.distinct(B, H, W, C), S))


def _region_labels(d: Draw, i: int) -> Case:
    H, W, M = d.grid()
    S = d.shift(M, i)
    return Case(f"H={H}, W={W}, window_size={M}, shift_size={S}", (H, W, M, S))


def _mask_from_labels(d: Draw, i: int) -> Case:
    H, W, M = d.grid()
    S = d.shift(M, 0)
    masked = d.choice([-100.0, -1.0, -7.5])
    return Case(f"region_labels({H}, {W}, {M}, {S}), window_size={M}, masked_value={masked}",
                (region_labels(H, W, M, S), M, masked))


def _window_attention(d: Draw, i: int) -> Case:
    (H, W, M), B = d.grid(2), d.batch(i)
    S, heads, dim = d.shift(M, i), d.int(1, 3), d.int(2, 8)
    nW, N = (H // M) * (W // M), M * M
    q, k, v = (d.normal(B * nW, heads, N, dim) for _ in range(3))
    mask = shifted_window_mask(H, W, M, S) if S else None
    return Case(f"B={B}, {H}x{W} map, window {M}, shift {S}, heads={heads}, d={dim}",
                (q, k, v, d.normal(heads, N, N), mask))


def _shifted_window_attention(d: Draw, i: int) -> Case:
    (H, W, M), B, C = d.grid(), d.batch(i), d.int(1, 4)
    S = d.shift(M, i)
    return Case(f"x ({B}, {H}, {W}, {C}), window_size={M}, shift_size={S}",
                (d.normal(B, H, W, C), M, S, Helper("toy_attention")))


def _flops_sizes(d: Draw) -> tuple[int, int, int, int]:
    M = d.choice([4, 7, 8, 12, 14])
    return M * d.int(1, 32), M * d.int(1, 32), d.choice([3, 64, 96, 128, 384, 1024]), M


GENERATORS: dict[str, Callable[[Draw, int], Case]] = {
    "patch_partition": _patch_partition, "merge_patches": _merge_patches,
    "window_partition": _window_partition, "window_reverse": _window_reverse,
    "relative_position_index": _relative_position_index, "lookup_bias": _lookup_bias,
    "cyclic_shift": _cyclic_shift, "region_labels": _region_labels,
    "mask_from_labels": _mask_from_labels, "window_attention": _window_attention,
    "shifted_window_attention": _shifted_window_attention,
    "msa_flops": lambda d, i: (lambda h, w, C, M: Case(f"h={h}, w={w}, C={C}", (h, w, C)))(
        *_flops_sizes(d)),
    "wmsa_flops": lambda d, i: (lambda h, w, C, M: Case(f"h={h}, w={w}, C={C}, M={M}",
                                                     (h, w, C, M)))(*_flops_sizes(d)),
    "flops_saving": lambda d, i: (lambda h, w, C, M: Case(f"h={h}, w={w}, C={C}, M={M}",
                                                       (h, w, C, M)))(*_flops_sizes(d)),
}


def hidden_cases(function: str, seed: int, count: int = CASES_PER_FUNCTION) -> list[Case]:
    """``count`` hidden inputs of ``function`` drawn from ``seed``."""
    if function not in GENERATORS:
        raise ValueError(f"function={function!r} has no hidden inputs; known: "
                         f"{sorted(GENERATORS)}")
    draw = Draw(seed)
    return [GENERATORS[function](draw, i) for i in range(count)]
