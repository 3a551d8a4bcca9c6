"""The package functions an assignment hands to the student, for use inside the sandbox.

Assignments 04 and 05 give the student ``window_partition``, ``window_reverse`` and
``shifted_window_mask`` from ``swin_edu`` (their locked import cell). ``swin_edu`` is not in the
sandbox, so the grader sends these torch-only versions instead (the official code's
view/permute form); ``tests/test_grader_sandbox.py`` proves each equal to the package's. Only
the functions named in the assignment's import cell are sent, never a function it grades.
"""

from __future__ import annotations

import torch


def window_partition(x, window_size):
    """``(B, H, W, C)`` -> ``(B * nW, M, M, C)``, windows in row-major order."""
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.contiguous().view(-1, M, M, C)


def window_reverse(windows, window_size, H, W):
    """``(B * nW, M, M, C)`` -> ``(B, H, W, C)``; the inverse of ``window_partition``."""
    M = window_size
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    x = windows.view(B, H // M, W // M, M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.contiguous().view(B, H, W, C)


def shifted_window_mask(H, W, window_size, shift_size, masked_value=-100.0):
    """The official ``attn_mask``: ``(nW, M*M, M*M)``, 0 or ``masked_value``."""
    M = window_size
    sh, sw = (shift_size, shift_size) if isinstance(shift_size, int) else shift_size
    labels = torch.zeros(1, H, W, 1)
    count = 0
    for hs in (slice(0, -M), slice(-M, -sh), slice(-sh, None)) if sh else (slice(None),):
        for ws in (slice(0, -M), slice(-M, -sw), slice(-sw, None)) if sw else (slice(None),):
            labels[:, hs, ws, :] = count
            count += 1
    windows = window_partition(labels, M).view(-1, M * M)
    different = windows[:, None, :] != windows[:, :, None]
    return torch.zeros(different.shape).masked_fill(different, float(masked_value))


GIVEN = {"window_partition": window_partition, "window_reverse": window_reverse,
         "shifted_window_mask": shifted_window_mask}
