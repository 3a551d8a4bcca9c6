"""Checkers for the classroom assignments in ``notebooks/assignments/``.

Each ``check_<function>(student_function)`` runs the student's function next to the package's
on several inputs (non-square maps included) and returns a :class:`Feedback`: passed, or what
went wrong on which input, with a hint aimed at the classic mistake the student most likely
made. A checker never raises because of the student's code; call ``.assert_ok()`` on the
feedback to turn a failure into an ``AssertionError`` (that is what the graded cells do).

    >>> from swin_edu import grading
    >>> grading.check_merge_patches(my_merge_patches).assert_ok()  # doctest: +SKIP

These checks are for learning: they run in the student's kernel and never count. The grades
come from the teacher's grader (``scripts/grader``), which runs the student's solution cells in
a sandbox on inputs drawn from a secret the teacher holds, and compares the answers with these
references in its own process.

``QUESTIONS`` maps each function name to its :class:`Question` (reference, inputs, mistakes);
the tests plant every mistake in a copy of the notebooks and check that nbgrader catches it.

Taught in notebooks/assignments/ (see docs/teachers.md).
"""

from __future__ import annotations

from swin_edu.grading.attention import (SHIFTED_WINDOW_ATTENTION, WINDOW_ATTENTION,
                                        check_shifted_window_attention, check_window_attention,
                                        toy_attention)
from swin_edu.grading.complexity import (FLOPS_SAVING, MSA_FLOPS, SEED_SAVING, WMSA_FLOPS,
                                         check_flops_saving, check_msa_flops, check_wmsa_flops)
from swin_edu.grading.core import (Case, Feedback, Mistake, Question, check, describe_difference,
                                   detect_pattern, generic_hint)
from swin_edu.grading.masks import (CYCLIC_SHIFT, MASK_FROM_LABELS, REGION_LABELS,
                                    check_cyclic_shift, check_mask_from_labels,
                                    check_region_labels)
from swin_edu.grading.patches import (MERGE_PATCHES, PATCH_PARTITION, check_merge_patches,
                                      check_patch_partition)
from swin_edu.grading.relative_position import (LOOKUP_BIAS, RELATIVE_POSITION_INDEX,
                                                check_lookup_bias, check_relative_position_index)
from swin_edu.grading.windows import (WINDOW_PARTITION, WINDOW_REVERSE, check_window_partition,
                                      check_window_reverse)

QUESTIONS: dict[str, Question] = {question.function: question for question in (
    PATCH_PARTITION, MERGE_PATCHES, WINDOW_PARTITION, WINDOW_REVERSE, RELATIVE_POSITION_INDEX,
    LOOKUP_BIAS, CYCLIC_SHIFT, REGION_LABELS, MASK_FROM_LABELS, WINDOW_ATTENTION,
    SHIFTED_WINDOW_ATTENTION, MSA_FLOPS, WMSA_FLOPS, FLOPS_SAVING)}

__all__ = [
    "Case", "Feedback", "Mistake", "Question", "QUESTIONS", "SEED_SAVING", "check",
    "describe_difference", "detect_pattern", "generic_hint", "toy_attention",
    "check_patch_partition", "check_merge_patches",
    "check_window_partition", "check_window_reverse",
    "check_relative_position_index", "check_lookup_bias",
    "check_cyclic_shift", "check_region_labels", "check_mask_from_labels",
    "check_window_attention", "check_shifted_window_attention",
    "check_msa_flops", "check_wmsa_flops", "check_flops_saving",
]

# The course notebooks' own "Your turn" questions (notebooks 01, 02 and 07) and their helper.
from swin_edu.grading.course import (COURSE_QUESTIONS, check_block_shift,  # noqa: E402
                                     check_patch_embedding, check_patch_merging,
                                     check_stage_tokens, your_turn)

# QUESTIONS are the graded assignments' (the grader draws their hidden inputs); ALL_QUESTIONS
# adds the course notebooks' own questions.
ALL_QUESTIONS: dict[str, Question] = {**QUESTIONS, **{question.function: question
                                                    for question in COURSE_QUESTIONS}}
__all__ += ["ALL_QUESTIONS", "your_turn", "check_patch_embedding", "check_patch_merging", "check_block_shift",
            "check_stage_tokens"]
