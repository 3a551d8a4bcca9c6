"""Assignment 6: the complexity formulas and the seed's saving of 40,124,743,680 FLOPs.

Symbols as in :mod:`swin_edu.complexity`: ``h, w`` map size, ``C`` channels, ``M`` window.
Each ``mistake_*`` function is a plausible wrong answer in plain Python.
"""

from __future__ import annotations

from swin_edu.complexity import msa_flops, wmsa_flops
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check

__all__ = ["MSA_FLOPS", "WMSA_FLOPS", "FLOPS_SAVING", "SEED_SAVING",
           "check_msa_flops", "check_wmsa_flops", "check_flops_saving"]

# The seed's example: h = w = 112, M = 7, C = 128.
SEED_SAVING = 40_124_743_680


def _expected_saving(h: int, w: int, C: int, M: int) -> int:
    """FLOPs saved by W-MSA over MSA: ``2(hw)^2 C - 2M^2 hwC`` (the projections cancel)."""
    return msa_flops(h, w, C) - wmsa_flops(h, w, C, M)


def _map_label(h: int, w: int) -> str:
    return " (non-square)" if h != w else ""


def _msa_cases() -> list[Case]:
    return [Case(f"h={h}, w={w}, C={C}" + _map_label(h, w), (h, w, C))
            for h, w, C in [(56, 56, 96), (28, 14, 192), (7, 5, 768)]]


def _wmsa_cases() -> list[Case]:
    return [Case(f"h={h}, w={w}, C={C}, M={M}" + _map_label(h, w), (h, w, C, M))
            for h, w, C, M in [(56, 56, 96, 7), (28, 14, 192, 7), (12, 24, 128, 12)]]


def _saving_cases() -> list[Case]:
    return [Case(f"h={h}, w={w}, C={C}, M={M}" + _map_label(h, w), (h, w, C, M))
            for h, w, C, M in [(112, 112, 128, 7), (56, 28, 96, 7), (24, 12, 256, 12)]]


def mistake_msa_projections_missing(h, w, C):
    """Counts only the two matrix products of attention."""
    return 2 * (h * w) ** 2 * C


def mistake_msa_output_projection_missing(h, w, C):
    """Counts q, k, v projections but not the output projection."""
    return 3 * h * w * C ** 2 + 2 * (h * w) ** 2 * C


def mistake_msa_hw_squared_typo(h, w, C):
    """Writes h * w ** 2 for (hw)^2."""
    return 4 * h * w * C ** 2 + 2 * h * w ** 2 * C


def mistake_msa_one_product(h, w, C):
    """Counts q k^T but not the product with v."""
    return 4 * h * w * C ** 2 + (h * w) ** 2 * C


def mistake_msa_float(h, w, C):
    """Right formula computed in floating point."""
    return 4.0 * h * w * C ** 2 + 2.0 * (h * w) ** 2 * C


_FLOAT_HINT = ("return an exact int: use integer arithmetic (*, ** and //, never / or a "
               "float constant). Floats keep 53 bits, so large FLOP counts lose their last "
               "digits, and the course compares exact numbers.")

MSA_FLOPS = Question(
    function="msa_flops",
    reference=msa_flops,
    cases=_msa_cases,
    signature="msa_flops(h, w, C)",
    reference_name="swin_edu.complexity.msa_flops",
    mistakes=(
        Mistake("projections_missing", "add the four C x C projections of the hw tokens (q, k, "
                "v and the output): 4hwC^2.", mistake_msa_projections_missing),
        Mistake("output_projection_missing", "there are four projections, not three: W_q, W_k, "
                "W_v and the output projection W_O (hwC^2 on its own): 4hwC^2.",
                mistake_msa_output_projection_missing),
        Mistake("hw_squared_typo", "(hw)^2 is (h * w) ** 2; h * w ** 2 squares only w. (The "
                "seed's derivation has the same typo, '2(hw^2)C'.)", mistake_msa_hw_squared_typo),
        Mistake("one_product", "attention has two (hw x hw)-sized matrix products, Q K^T and "
                "A V, each hw * hw * C: 2(hw)^2 C.", mistake_msa_one_product),
        Mistake("float", _FLOAT_HINT, mistake_msa_float),
    ),
)


def mistake_wmsa_m_not_squared(h, w, C, M):
    """Uses M where the formula has M^2."""
    return 4 * h * w * C ** 2 + 2 * M * h * w * C


def mistake_wmsa_one_window(h, w, C, M):
    """Counts a single M x M window."""
    return 4 * M ** 2 * C ** 2 + 2 * M ** 4 * C


def mistake_wmsa_times_tokens(h, w, C, M):
    """Multiplies one window's cost by the number of tokens instead of windows."""
    return h * w * (4 * M ** 2 * C ** 2 + 2 * M ** 4 * C)


def mistake_wmsa_float(h, w, C, M):
    """Counts windows with true division, which makes a float."""
    return h * w / M ** 2 * (4 * M ** 2 * C ** 2 + 2 * M ** 4 * C)


WMSA_FLOPS = Question(
    function="wmsa_flops",
    reference=wmsa_flops,
    cases=_wmsa_cases,
    signature="wmsa_flops(h, w, C, M)",
    reference_name="swin_edu.complexity.wmsa_flops",
    mistakes=(
        Mistake("m_not_squared", "each token attends to the M^2 tokens of its window, so the "
                "attention term is 2 M^2 hwC, not 2 M hwC.", mistake_wmsa_m_not_squared),
        Mistake("one_window", "that is the cost of ONE window (MSA with h = w = M); multiply "
                "by the number of windows, hw / M^2.", mistake_wmsa_one_window),
        Mistake("times_tokens", "multiply one window's cost by the number of windows hw / M^2, "
                "not by the number of tokens hw.", mistake_wmsa_times_tokens),
        Mistake("float", _FLOAT_HINT, mistake_wmsa_float),
    ),
)


def mistake_saving_reversed(h, w, C, M):
    """Subtracts MSA from W-MSA: a negative saving."""
    return (4 * h * w * C ** 2 + 2 * M ** 2 * h * w * C) - (
        4 * h * w * C ** 2 + 2 * (h * w) ** 2 * C)


def mistake_saving_hw_squared_typo(h, w, C, M):
    """Copies the seed's typo 2(hw^2)C for the MSA attention term."""
    return 2 * h * w ** 2 * C - 2 * M ** 2 * h * w * C


def mistake_saving_m_not_squared(h, w, C, M):
    """Uses M where the W-MSA term has M^2."""
    return 2 * (h * w) ** 2 * C - 2 * M * h * w * C


def mistake_saving_float(h, w, C, M):
    """Right formula in floating point."""
    return 2.0 * (h * w) ** 2 * C - 2.0 * M ** 2 * h * w * C


FLOPS_SAVING = Question(
    function="flops_saving",
    reference=_expected_saving,
    cases=_saving_cases,
    signature="flops_saving(h, w, C, M)",
    reference_name="msa_flops(h, w, C) - wmsa_flops(h, w, C, M) from swin_edu.complexity",
    mistakes=(
        Mistake("reversed", "a saving is MSA minus W-MSA (the bigger minus the smaller); you "
                "subtracted the other way round.", mistake_saving_reversed),
        Mistake("hw_squared_typo", "(hw)^2 is (h * w) ** 2, not h * w ** 2: the seed writes "
                "2(hw^2)C in its derivation but computes 2 x 112^4 x 128.",
                mistake_saving_hw_squared_typo),
        Mistake("m_not_squared", "the W-MSA attention term is 2 M^2 hwC: each token attends to "
                "the M^2 tokens of its window.", mistake_saving_m_not_squared),
        Mistake("float", _FLOAT_HINT, mistake_saving_float),
    ),
)


def check_msa_flops(student) -> Feedback:
    """Compare ``student(h, w, C)`` with :func:`swin_edu.complexity.msa_flops`."""
    return check(MSA_FLOPS, student)


def check_wmsa_flops(student) -> Feedback:
    """Compare ``student(h, w, C, M)`` with :func:`swin_edu.complexity.wmsa_flops`."""
    return check(WMSA_FLOPS, student)


def check_flops_saving(student) -> Feedback:
    """Compare ``student(h, w, C, M)`` with MSA minus W-MSA FLOPs."""
    return check(FLOPS_SAVING, student)
