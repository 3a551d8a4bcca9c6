"""# The shifted-window attention mask

Shifting the window grid by ``S = M // 2`` turns ``(H/M) x (W/M)`` windows into up to
``(H/M + 1) x (W/M + 1)`` windows of uneven sizes. The official code avoids the extra windows:

1. **Roll** the map up and left by ``S`` (:func:`swin_edu.windows.cyclic_shift`). The regular
   grid of the rolled map now holds the shifted windows, except that the windows along the
   bottom and right edges glue together pieces that were far apart in the image.
2. **Label regions** (:func:`region_labels`): on the rolled map, rows split into three bands,
   ``[0, H-M)``, ``[H-M, H-S)`` and ``[H-S, H)``, and so do columns; the 3 x 3 bands get labels
   ``0..8`` (the official ``img_mask`` / ``cnt``). Two tokens were neighbours in the image
   exactly when they share a label.
3. **Mask** (:func:`shifted_window_mask`): inside each window, a query may attend to a key only
   when their labels agree; every other pair gets ``masked_value`` added to its attention logit.

Why ``-100.0`` and not ``-inf``: after softmax ``exp(-100) ~ 4e-44``, which is exactly zero
in float16/bfloat16 and negligible in float32, while ``-inf`` turns a row with no allowed key
into NaNs and ``-inf - (-inf)`` into NaN under mixed precision. Every row here keeps at least
the diagonal, so ``-100`` is safe and it is what the official checkpoints were trained with.

Taught in notebooks/05_shifted_windows.
"""

from __future__ import annotations

import torch

from swin_edu._checks import (check_divisible, check_memory, check_positive, check_real,
                              check_shift)
from swin_edu.windows import shift_pair, window_partition

__all__ = ["region_labels", "shifted_window_mask", "MASKED_VALUE"]

MASKED_VALUE = -100.0


def _axis_bands(size: int, window_size: int, shift_size: int) -> torch.Tensor:
    """Band index (0, 1 or 2) of each position along one axis of the rolled map."""
    position = torch.arange(size)
    if shift_size == 0:
        return torch.zeros(size, dtype=torch.long)
    # [0, size-M) -> 0, [size-M, size-S) -> 1, [size-S, size) -> 2
    return (position >= size - window_size).long() + (position >= size - shift_size).long()


def region_labels(H: int, W: int, window_size: int,
                  shift_size: int | tuple[int, int]) -> torch.Tensor:
    """Label each token of the *rolled* map with the region it came from.

    Args:
        H, W: feature-map size, multiples of ``window_size``.
        window_size: ``M``.
        shift_size: ``S`` in ``[0, M)``, or a pair ``(S_h, S_w)`` (the model shifts only the
            axes that are longer than one window).
    Returns:
        ``(H, W)`` long tensor with values in ``0..8`` (``3 * row_band + col_band``); all
        zeros when the shift is 0. Equal to the official code's ``img_mask[0, :, :, 0]``.
    """
    shift_h, shift_w = shift_pair(shift_size)
    H, W, window_size = (check_positive(name, size) for name, size in
                         (("H", H), ("W", W), ("window_size", window_size)))
    check_divisible("H", H, window_size)
    check_divisible("W", W, window_size)
    check_shift(shift_h, window_size)
    check_shift(shift_w, window_size)
    check_memory(f"region labels of H={H}, W={W}", 3 * H * W * 8)
    rows = _axis_bands(H, window_size, shift_h)
    cols = _axis_bands(W, window_size, shift_w)
    return 3 * rows[:, None] + cols[None, :]


def shifted_window_mask(H: int, W: int, window_size: int, shift_size: int | tuple[int, int],
                        masked_value: float = MASKED_VALUE) -> torch.Tensor:
    """The additive SW-MSA attention mask, one ``M^2 x M^2`` matrix per window.

    Args:
        H, W: feature-map size, multiples of ``window_size``.
        window_size: ``M``.
        shift_size: ``S`` in ``[0, M)`` or a pair ``(S_h, S_w)``.
        masked_value: added to forbidden query/key pairs; ``-100.0`` as in the official code.
            Must be finite and negative (``-inf`` is refused: see the module docstring).
    Returns:
        ``(nW, M*M, M*M)`` float tensor, ``nW = (H/M) * (W/M)`` in row-major window order;
        entry ``[w, i, j]`` is ``0`` when query ``i`` may attend to key ``j`` in window ``w``,
        else ``masked_value``. Symmetric, zero on the diagonal, all zeros when the shift is 0.
    """
    masked_value = check_real("masked_value", masked_value, high=0.0, high_open=True,
                              hint="the official code uses -100.0")
    labels = region_labels(H, W, window_size, shift_size)
    check_memory(f"the mask of H={H}, W={W}, window_size={window_size}",
                 H * W * window_size ** 2 * 4 * 2)  # float mask + bool comparison
    label_windows = window_partition(labels[None, :, :, None], window_size)  # (nW, M, M, 1)
    label_windows = label_windows.reshape(-1, window_size * window_size)  # (nW, M*M)
    # The official code writes mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2); only
    # "different or not" matters, so the order of the subtraction does not.
    different = label_windows[:, None, :] != label_windows[:, :, None]  # (nW, M*M, M*M)
    mask = torch.zeros(different.shape, dtype=torch.float32)
    return mask.masked_fill(different, float(masked_value))
