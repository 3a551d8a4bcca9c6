"""Unit tests of swin_edu.grading: correct answers pass, every classic mistake is diagnosed with
its hint (also when written differently from the catalogue), and a student's crash, wrong
shape or wrong dtype comes back as feedback, never as an exception."""

import inspect
import math
import re

import pytest
import torch
from einops import rearrange

from swin_edu import grading
from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.windows import window_partition, window_reverse

window_attention = grading.WINDOW_ATTENTION.reference
mask_from_labels = grading.MASK_FROM_LABELS.reference

QUESTIONS = list(grading.ALL_QUESTIONS.values())
MISTAKES = [(q, m) for q in QUESTIONS for m in q.mistakes]


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.function)
def test_reference_passes_and_says_which_inputs(question):
    feedback = grading.check(question, question.reference)
    assert feedback.passed, feedback
    assert feedback.mistake is None
    assert str(feedback).startswith(f"PASSED {question.function}")


def test_every_coding_question_has_three_mistakes_and_a_non_square_input():
    for question in QUESTIONS:
        assert len(question.mistakes) >= 3, question.function
        assert len({m.name for m in question.mistakes}) == len(question.mistakes)
        labels = [case.label for case in question.cases()]
        if question.function not in ("relative_position_index", "lookup_bias"):
            assert any("non-square" in label for label in labels), question.function


@pytest.mark.parametrize("question,mistake", MISTAKES,
                         ids=[f"{q.function}-{m.name}" for q, m in MISTAKES])
def test_each_catalogued_mistake_is_diagnosed_with_its_hint(question, mistake):
    feedback = grading.check(question, mistake.implementation)
    assert not feedback.passed
    assert feedback.mistake == mistake.name, feedback
    assert feedback.hint == mistake.hint
    assert mistake.hint in str(feedback)


@pytest.mark.parametrize("question,mistake", MISTAKES,
                         ids=[f"{q.function}-{m.name}" for q, m in MISTAKES])
def test_mistake_source_runs_on_its_own_as_a_planted_cell(question, mistake):
    # The end-to-end test plants this source in a notebook that imports only these names.
    source = inspect.getsource(mistake.implementation)
    source = re.sub(r"^def \w+\(", f"def {question.function}(", source, count=1)
    namespace = {"torch": torch, "math": math, "window_partition": window_partition,
                 "window_reverse": window_reverse, "shifted_window_mask": shifted_window_mask}
    exec(compile(source, "<planted>", "exec"), namespace)
    planted = namespace[question.function]
    assert grading.check(question, planted).mistake == mistake.name


# Classic mistakes written the way a student might, differently from the catalogue.

def student_merge_column_offset_first(x):
    return torch.cat([x[:, 0::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 0::2], x[:, 1::2, 1::2]],
                     dim=-1)


def student_partition_column_major(x, window_size):
    return rearrange(x, "b (nh m1) (nw m2) c -> (b nw nh) m1 m2 c", m1=window_size,
                     m2=window_size)


def student_shift_wrong_direction(x, shift_size):
    index_h = (torch.arange(x.shape[1]) - shift_size) % x.shape[1]
    index_w = (torch.arange(x.shape[2]) - shift_size) % x.shape[2]
    return x[:, index_h][:, :, index_w]


def student_index_without_multiplier(window_size):
    M = window_size
    coords = [(i, j) for i in range(M) for j in range(M)]
    return torch.tensor([[(qy - ky + M - 1) + (qx - kx + M - 1) for ky, kx in coords]
                         for qy, qx in coords])


def student_index_rows_only_offset(window_size):
    M = window_size
    coords = torch.stack(torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij"))
    coords = coords.flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    relative[:, :, 0] += M - 1  # forgot the same line for axis 1
    relative[:, :, 0] *= 2 * M - 1
    return relative.sum(-1)


def student_labels_unrolled(H, W, window_size, shift_size):
    # Regions as seen on the original image: the wrapped-round part is at the top/left.
    labels = torch.zeros(H, W, dtype=torch.long)
    if shift_size == 0:
        return labels
    M, S = window_size, shift_size
    bands = (slice(S, H - M + S), slice(H - M + S, None), slice(0, S))
    col_bands = (slice(S, W - M + S), slice(W - M + S, None), slice(0, S))
    for r, rows in enumerate(bands):
        for c, cols in enumerate(col_bands):
            labels[rows, cols] = 3 * r + c
    return labels


def student_forgot_to_roll_back(x, window_size, shift_size, attend):
    B, H, W, C = x.shape
    M = window_size
    mask = shifted_window_mask(H, W, M, shift_size) if shift_size else None
    shifted = torch.roll(x, (-shift_size, -shift_size), (1, 2))
    windows = window_partition(shifted, M).flatten(1, 2)
    return window_reverse(attend(windows, mask).unflatten(1, (M, M)), M, H, W)


def student_attention_mask_interleaved(q, k, v, bias, mask=None):
    attn = torch.einsum("wnhd,wmhd->wnhm", q.transpose(1, 2), k.transpose(1, 2))
    attn = attn.transpose(1, 2) / math.sqrt(q.shape[-1]) + bias
    if mask is not None:
        attn = attn + torch.cat([m.expand(q.shape[0] // mask.shape[0], -1, -1)
                                 for m in mask])[:, None]
    return attn.softmax(-1) @ v


def student_msa_typo(h, w, C):
    return 4 * h * w * C * C + 2 * h * w * w * C


@pytest.mark.parametrize("question,student,expected", [
    (grading.MERGE_PATCHES, student_merge_column_offset_first, "column_offset_first"),
    (grading.WINDOW_PARTITION, student_partition_column_major, "column_major"),
    (grading.CYCLIC_SHIFT, student_shift_wrong_direction, "wrong_direction"),
    (grading.RELATIVE_POSITION_INDEX, student_index_without_multiplier, "no_row_multiplier"),
    (grading.RELATIVE_POSITION_INDEX, student_index_rows_only_offset, "only_rows_shifted"),
    (grading.REGION_LABELS, student_labels_unrolled, "unrolled_map"),
    (grading.SHIFTED_WINDOW_ATTENTION, student_forgot_to_roll_back, "not_rolled_back"),
    (grading.WINDOW_ATTENTION, student_attention_mask_interleaved, "mask_repeat_interleave"),
    (grading.MSA_FLOPS, student_msa_typo, "hw_squared_typo"),
], ids=lambda value: getattr(value, "__name__", None) if callable(value) else None)
def test_mistakes_written_another_way_are_diagnosed(question, student, expected):
    feedback = grading.check(question, student)
    assert not feedback.passed
    assert feedback.mistake == expected, feedback


def test_index_collision_hint_names_the_colliding_offsets():
    feedback = grading.check_relative_position_index(student_index_without_multiplier)
    assert "(1, 2) and (2, 1)" in feedback.hint


# Whatever the student's function does, the checker reports it.

def test_unwritten_function_is_reported_not_raised():
    def window_partition_stub(x, window_size):
        raise NotImplementedError()

    feedback = grading.check_window_partition(window_partition_stub)
    assert not feedback.passed and "not written yet" in feedback.summary


def test_crash_is_reported_with_the_input_and_the_error():
    def crashes(x):
        return x[:, :, :, :, 0]

    feedback = grading.check_merge_patches(crashes)
    assert not feedback.passed
    assert "IndexError" in feedback.summary and "(1, 4, 4, 2)" in feedback.summary


def test_view_after_permute_error_gets_the_contiguous_hint():
    def view_after_permute(x, window_size):
        B, H, W, C = x.shape
        M = window_size
        x = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5)
        return x.view(-1, M, M, C)

    feedback = grading.check_window_partition(view_after_permute)
    assert "RuntimeError" in feedback.summary and ".reshape()" in feedback.hint


@pytest.mark.parametrize("answer,words", [
    (lambda x: None, "forget `return`"),
    (lambda x: [x], "returned list"),
    (lambda x: x, "returned shape (1, 4, 4, 2), expected (1, 2, 2, 8)"),
    (lambda x: torch.zeros(x.shape[0], x.shape[1] // 2, x.shape[2] // 2, 4 * x.shape[3],
                           dtype=torch.long), "dtype torch.int64"),
    (lambda: 0, "TypeError"),
])
def test_wrong_results_are_described(answer, words):
    feedback = grading.check_merge_patches(answer)
    assert not feedback.passed
    assert words in feedback.summary, feedback


def test_non_function_is_reported():
    feedback = grading.check_cyclic_shift(None)
    assert not feedback.passed and "expected a function" in feedback.summary


def test_float_count_gets_the_exact_integer_hint():
    feedback = grading.check_msa_flops(lambda h, w, C: float(4 * h * w * C ** 2
                                                             + 2 * (h * w) ** 2 * C))
    assert not feedback.passed and feedback.mistake == "float"
    assert "exact int" in feedback.summary


def test_keyboard_interrupt_is_not_swallowed():
    # nbgrader stops a looping cell by interrupting the kernel; the checker must let it through.
    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grading.check_merge_patches(interrupted)


def test_assert_ok_prints_on_pass_and_raises_with_the_hint(capsys):
    grading.check_cyclic_shift(lambda x, s: torch.roll(x, (-s, -s), (1, 2))).assert_ok()
    assert capsys.readouterr().out.startswith("PASSED cyclic_shift")
    with pytest.raises(AssertionError, match="Hint: you rolled down and right"):
        grading.check_cyclic_shift(lambda x, s: torch.roll(x, (s, s), (1, 2))).assert_ok()


def test_student_cannot_change_the_inputs_of_later_checks():
    def mutates(x, shift_size):
        out = torch.roll(x, (-shift_size, -shift_size), (1, 2))
        x.zero_()
        return out

    assert grading.check_cyclic_shift(mutates).passed


# The references the checkers use agree with the package and the seed.

@pytest.mark.parametrize("H,W,M,S", [(4, 4, 2, 1), (6, 9, 3, 1), (14, 21, 7, 3), (8, 4, 4, 0)])
def test_mask_from_labels_rebuilds_the_package_mask(H, W, M, S):
    torch.testing.assert_close(mask_from_labels(region_labels(H, W, M, S), M),
                               shifted_window_mask(H, W, M, S))


def test_window_attention_reference_matches_a_loop_over_windows():
    B, nW, heads, N, d = 2, 6, 3, 4, 5
    q, k, v = (torch.randn(B * nW, heads, N, d) for _ in range(3))
    bias = torch.randn(heads, N, N)
    mask = shifted_window_mask(4, 6, 2, 1)
    expected = torch.stack([
        torch.softmax(q[i] @ k[i].transpose(-2, -1) / math.sqrt(d) + bias + mask[i % nW], -1)
        @ v[i] for i in range(B * nW)])
    torch.testing.assert_close(window_attention(q, k, v, bias, mask), expected)


def test_flops_saving_reproduces_the_seed():
    assert grading.check_flops_saving(lambda h, w, C, M: 2 * (h * w) ** 2 * C
                                      - 2 * M ** 2 * h * w * C).passed
    assert grading.FLOPS_SAVING.reference(112, 112, 128, 7) == grading.SEED_SAVING
    assert grading.SEED_SAVING == 40_124_743_680


def test_no_solution_with_the_asked_name_is_importable_from_grading():
    import swin_edu.grading.attention as attention_module
    import swin_edu.grading.complexity as complexity_module
    import swin_edu.grading.masks as masks_module
    for module, name in [(attention_module, "window_attention"),
                         (attention_module, "shifted_window_attention"),
                         (masks_module, "mask_from_labels"),
                         (complexity_module, "flops_saving")]:
        assert not hasattr(module, name), name
        assert not hasattr(grading, name), name


# The visible checks apply the grader's rules: exact float dtype, exact Python int, and
# non-default arguments.

def test_float64_result_fails_the_visible_check_with_the_dtype():
    def float64_mask(labels, window_size, masked_value=-100.0):
        return mask_from_labels(labels, window_size, masked_value).double()

    feedback = grading.check_mask_from_labels(float64_mask)
    assert not feedback.passed
    assert "returned dtype torch.float64, expected torch.float32" in feedback.summary


def test_hard_coded_masked_value_fails_the_visible_check():
    def hard_coded(labels, window_size, masked_value=-100.0):
        return mask_from_labels(labels, window_size, -100.0)

    feedback = grading.check_mask_from_labels(hard_coded)
    assert not feedback.passed and "masked_value=-7.5" in feedback.summary


def test_numpy_integer_fails_the_visible_check_with_a_message():
    import numpy as np
    feedback = grading.check_msa_flops(
        lambda h, w, C: np.int64(4 * h * w * C ** 2 + 2 * (h * w) ** 2 * C))
    assert not feedback.passed
    assert "numpy.int64" in feedback.summary and "int(...)" in feedback.summary


# Mistakes outside the catalogue: a hint that describes the output, whatever the code style.

def flops_twice(h, w, C, M):
    total = 0
    for _ in range(2):
        total += 2 * (h * w) ** 2 * C - 2 * M ** 2 * h * w * C
    return total


def mask_plus_100(labels, window_size, masked_value=-100.0):
    M = window_size
    windows = window_partition(labels[None, :, :, None], M).reshape(-1, M * M)
    return torch.where(windows[:, :, None] == windows[:, None, :], 0.0, -float(masked_value))


def index_shift_by_m(window_size):
    M = window_size
    cells = [(i, j) for i in range(M) for j in range(M)]
    return torch.tensor([[(a - c + M) * (2 * M - 1) + (b - d + M) for c, d in cells]
                         for a, b in cells])


def shift_one_too_far(x, shift_size):
    H, W = x.shape[1:3]
    rows = [(i + shift_size + 1) % H for i in range(H)]
    cols = [(j + shift_size + 1) % W for j in range(W)]
    return x[:, rows][:, :, cols]


def merged_grid_transposed(x):
    return merge_reference(x).transpose(1, 2)


def merge_reference(x):
    return torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)


def labels_doubled_rows(H, W, window_size, shift_size):
    labels = torch.zeros(H, W, dtype=torch.long)
    if shift_size == 0:
        return labels
    for i in range(H):
        for j in range(W):
            rb = 0 if i < H - window_size else (1 if i < H - shift_size else 2)
            cb = 0 if j < W - window_size else (1 if j < W - shift_size else 2)
            labels[i, j] = 2 * rb + cb
    return labels


def attention_over_d(q, k, v, bias, mask=None):
    out = torch.empty_like(q)
    nW = mask.shape[0] if mask is not None else 1
    for i in range(q.shape[0]):
        logits = q[i] @ k[i].transpose(-2, -1) / q.shape[-1] + bias
        if mask is not None:
            logits = logits + mask[i % nW]
        out[i] = logits.softmax(-1) @ v[i]
    return out


@pytest.mark.parametrize("question,student,name,words", [
    (grading.FLOPS_SAVING, flops_twice, "k_times", "exactly 2 times"),
    (grading.MASK_FROM_LABELS, mask_plus_100, "sign_flipped", "opposite sign"),
    (grading.RELATIVE_POSITION_INDEX, index_shift_by_m, "constant_offset", "+4"),
    (grading.CYCLIC_SHIFT, shift_one_too_far, "off_by_one", "axes 1 and 2"),
    (grading.MERGE_PATCHES, merged_grid_transposed, "transposed", "axes 1 and 2 swapped"),
    (grading.REGION_LABELS, labels_doubled_rows, "values_collide", "different values"),
    (grading.WINDOW_ATTENTION, attention_over_d, "scale_one_over_d", "not by sqrt(d)"),
], ids=lambda value: getattr(value, "__name__", None) if callable(value) else None)
def test_off_catalogue_mistakes_get_a_fitting_hint(question, student, name, words):
    feedback = grading.check(question, student)
    assert not feedback.passed
    assert feedback.mistake == name, feedback
    assert words in feedback.hint, feedback.hint
    for code_word in ("view", "permute", "reshape"):
        assert code_word not in feedback.hint or name == "scale_one_over_d"


def test_off_by_one_integer_and_generic_hint_names_the_reference():
    feedback = grading.check_msa_flops(lambda h, w, C: 4 * h * w * C ** 2
                                       + 2 * (h * w) ** 2 * C + 1)
    assert feedback.mistake == "off_by_one"

    def scrambled(x, shift_size):
        out = torch.roll(x, (-shift_size, -shift_size), (1, 2)).clone()
        out[0, 0, 0, 0] = -1.0
        return out

    feedback = grading.check_cyclic_shift(scrambled)
    assert feedback.mistake is None
    assert "swin_edu.windows.cyclic_shift" in feedback.hint
    assert "first at index (0, 0, 0, 0)" in feedback.hint and "got -1.0" in feedback.hint


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.function)
def test_every_question_names_its_reference(question):
    assert question.reference_name
