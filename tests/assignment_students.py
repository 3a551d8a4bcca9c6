"""Invented students for the assignment tests: honest solutions written in other styles than
the sources (loops, unfold, numpy, index arithmetic, scaled_dot_product_attention), and
cheaters who plant a wrong answer plus one way each of getting past the checks.

Each entry maps a graded function to the source of its solution cell. The notebooks import
``torch`` and ``grading`` (and, where the source does, ``window_partition``,
``window_reverse``, ``shifted_window_mask``), so these sources may use them.
"""

HONEST_STYLES: dict[str, str] = {
    "patch_partition": '''\
def patch_partition(images, patch_size=4):
    import torch.nn.functional as F
    B, C, H, W = images.shape
    p = patch_size
    columns = F.unfold(images, kernel_size=p, stride=p)  # (B, C*p*p, patches), row-major
    return columns.transpose(1, 2).reshape(B, H // p, W // p, C * p * p)
''',
    "merge_patches": '''\
def merge_patches(x):
    B, H, W, C = x.shape
    out = torch.empty(B, H // 2, W // 2, 4 * C, dtype=x.dtype)
    for i in range(H // 2):
        for j in range(W // 2):
            out[:, i, j] = torch.cat([x[:, 2 * i, 2 * j], x[:, 2 * i + 1, 2 * j],
                                      x[:, 2 * i, 2 * j + 1], x[:, 2 * i + 1, 2 * j + 1]], -1)
    return out
''',
    "window_partition": '''\
def window_partition(x, window_size):
    import numpy as np
    B, H, W, C = x.shape
    M = window_size
    a = x.numpy().reshape(B, H // M, M, W // M, M, C).transpose(0, 1, 3, 2, 4, 5)
    return torch.from_numpy(np.ascontiguousarray(a).reshape(-1, M, M, C))
''',
    "window_reverse": '''\
def window_reverse(windows, window_size, H, W):
    M = window_size
    rows, cols = H // M, W // M
    B = windows.shape[0] // (rows * cols)
    x = torch.empty(B, H, W, windows.shape[-1], dtype=windows.dtype)
    n = 0
    for b in range(B):
        for i in range(rows):
            for j in range(cols):
                x[b, i * M:(i + 1) * M, j * M:(j + 1) * M] = windows[n]
                n += 1
    return x
''',
    "relative_position_index": '''\
def relative_position_index(window_size):
    M = window_size
    cells = [(i, j) for i in range(M) for j in range(M)]
    return torch.tensor([[(qi - ki + M - 1) * (2 * M - 1) + (qj - kj + M - 1)
                          for ki, kj in cells] for qi, qj in cells])
''',
    "lookup_bias": '''\
def lookup_bias(table, index):
    N = index.shape[0]
    picked = torch.index_select(table, 0, index.flatten())  # (N*N, heads)
    return picked.T.reshape(-1, N, N)
''',
    "cyclic_shift": '''\
def cyclic_shift(x, shift_size):
    H, W = x.shape[1], x.shape[2]
    rows = [(i + shift_size) % H for i in range(H)]
    cols = [(j + shift_size) % W for j in range(W)]
    return x[:, rows][:, :, cols]
''',
    "region_labels": '''\
def region_labels(H, W, window_size, shift_size):
    M, S = window_size, shift_size
    labels = torch.zeros(H, W, dtype=torch.long)
    if S == 0:
        return labels

    def band(i, n):
        return 0 if i < n - M else (1 if i < n - S else 2)

    for i in range(H):
        for j in range(W):
            labels[i, j] = 3 * band(i, H) + band(j, W)
    return labels
''',
    "mask_from_labels": '''\
def mask_from_labels(labels, window_size, masked_value=-100.0):
    M = window_size
    windows = window_partition(labels[None, :, :, None], M).reshape(-1, M * M)
    return torch.where(windows[:, :, None] == windows[:, None, :], 0.0, float(masked_value))
''',
    "window_attention": '''\
def window_attention(q, k, v, bias, mask=None):
    import torch.nn.functional as F
    BnW, heads, N, d = q.shape
    added = bias.expand(BnW, heads, N, N)
    if mask is not None:
        added = added + mask.repeat(BnW // mask.shape[0], 1, 1)[:, None]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=added)
''',
    "shifted_window_attention": '''\
def shifted_window_attention(x, window_size, shift_size, attend):
    B, H, W, C = x.shape
    M, S = window_size, shift_size
    if S:
        x = torch.cat([x[:, S:], x[:, :S]], 1)
        x = torch.cat([x[:, :, S:], x[:, :, :S]], 2)
    mask = shifted_window_mask(H, W, M, S) if S else None
    windows = attend(window_partition(x, M).flatten(1, 2), mask)
    out = window_reverse(windows.unflatten(1, (M, M)), M, H, W)
    if S:
        out = torch.cat([out[:, -S:], out[:, :-S]], 1)
        out = torch.cat([out[:, :, -S:], out[:, :, :-S]], 2)
    return out
''',
    "msa_flops": '''\
def msa_flops(h, w, C):
    tokens = h * w
    projections = sum(tokens * C * C for _ in ("q", "k", "v", "out"))
    return projections + 2 * tokens * tokens * C
''',
    "wmsa_flops": '''\
def wmsa_flops(h, w, C, M):
    windows = (h // M) * (w // M)
    return windows * (4 * M * M * C * C + 2 * M ** 4 * C)
''',
    "flops_saving": '''\
def flops_saving(h, w, C, M):
    return msa_flops(h, w, C) - wmsa_flops(h, w, C, M)
''',
}

# One cheater per assignment: every function wrong (its first catalogue mistake), and one way
# of getting past the visible checks that fooled the old in-kernel hidden tests. The patch is
# appended to the last solution cell. Each must score 0 on every function and be flagged.
PATCHES: dict[str, str] = {
    "01_patch_merging": '''
import swin_edu.patches
swin_edu.patches.patch_partition = patch_partition
grading.Feedback.assert_ok = lambda self: None
''',
    "02_windows": '''
import torch.testing as tt
tt.assert_close = lambda *args, **kwargs: None
setattr(grading.Feedback, "assert_ok", lambda self: None)
''',
    "03_relative_position": '''
import sys
sys.modules["swin_edu.grading.core"].Feedback.assert_ok = lambda self: None
''',
    "04_shifted_window_mask": '''
feedback_class = grading.Feedback
feedback_class.assert_ok = lambda self: None
import builtins
builtins.print = lambda *args, **kwargs: None
''',
    "05_window_attention": '''
class _Pass:
    def assert_ok(self):
        pass
grading.check_window_attention = lambda f: _Pass()
grading.check_shifted_window_attention = lambda f: _Pass()
''',
    "06_complexity": '''
exec("grading.Feedback.assert_ok = lambda self: None")
grading.record_answers = lambda name, function: None
''',
}

# A student who calls the package's own function for the function asked: right answers, so
# full marks from the checks, but the audit names the line.
REFERENCE_CALLERS: dict[str, tuple[str, str]] = {
    "01_patch_merging": ("merge_patches", '''\
from swin_edu.patches import merge_patches as _merge
def merge_patches(x):
    return _merge(x)
'''),
    "02_windows": ("window_reverse", '''\
import swin_edu.windows as sw
def window_reverse(windows, window_size, H, W):
    return sw.window_reverse(windows, window_size, H, W)
'''),
    "03_relative_position": ("relative_position_index", '''\
from swin_edu import relative_position
def relative_position_index(window_size):
    return relative_position.relative_position_index(window_size)
'''),
    "04_shifted_window_mask": ("mask_from_labels", '''\
def mask_from_labels(labels, window_size, masked_value=-100.0):
    reference = grading.QUESTIONS["mask_from_labels"].reference
    return reference(labels, window_size, masked_value)
'''),
    "05_window_attention": ("window_attention", '''\
from swin_edu.attention import explicit_attention
def window_attention(q, k, v, bias, mask=None):
    BnW, heads, N, d = q.shape
    added = bias.expand(BnW, heads, N, N)
    if mask is not None:
        added = added + mask.repeat(BnW // mask.shape[0], 1, 1)[:, None]
    return explicit_attention(q, k, v, added)
'''),
    "06_complexity": ("msa_flops", '''\
def msa_flops(h, w, C):
    from swin_edu.complexity import msa_flops as m
    return m(h, w, C)
'''),
}
