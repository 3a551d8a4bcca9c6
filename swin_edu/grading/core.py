"""The checking engine: run a student's function next to the package's, explain the difference.

A :class:`Question` bundles the package's reference function, the inputs to try (several sizes,
non-square ones included) and the classic mistakes, each a small function that makes exactly
that mistake. :func:`check` runs the student's function on every input; at the first input
where it disagrees with the reference it looks for the classic mistake whose output the student
reproduced and returns its hint. Whatever the student's function does (raise, return ``None``,
the wrong shape or dtype) comes back as a :class:`Feedback`, never as an exception.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

__all__ = ["Case", "Mistake", "Question", "Feedback", "check", "describe_difference",
           "detect_pattern", "generic_hint"]

# Error messages PyTorch gives for the classic reshaping slips, with what to do about them.
_COMMON_ERROR_HINTS: tuple[tuple[str, str], ...] = (
    ("view size is not compatible",
     ".view() needs contiguous memory and a permute() makes it non-contiguous: use .reshape() "
     "or .contiguous().view() after a permute."),
    ("is invalid for input of size",
     "a view/reshape was given sizes whose product is not the number of elements; print the "
     "shape after each step and check which axis you split into which sizes."),
    ("must match the size of tensor",
     "two tensors did not broadcast; print both shapes and line up their axes (add a size-1 "
     "axis with [None] or unsqueeze where one is missing)."),
    ("number of dims don't match in permute",
     "permute() needs one index per axis of the tensor it is applied to."),
)


@dataclass(frozen=True)
class Case:
    """One input to try: positional arguments and a label a student can read."""

    label: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: a function that makes it, and the hint that fixes it.

    ``implementation`` has the same signature as the reference and uses only ``torch`` and
    ``math``, so its source can also be planted in a notebook to test the grader.
    """

    name: str
    hint: str
    implementation: Callable[..., Any]


@dataclass(frozen=True)
class Question:
    """What :func:`check` needs to grade one function."""

    function: str
    reference: Callable[..., Any]
    cases: Callable[[], list[Case]]
    mistakes: tuple[Mistake, ...]
    signature: str
    reference_name: str = ""
    rtol: float = 1e-5
    atol: float = 1e-6
    error_hints: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class Feedback:
    """The verdict on one function, printable as a short report.

    ``mistake`` is the name of the diagnosed classic mistake (``None`` when passed or when no
    classic mistake matches); ``hint`` says what to change.
    """

    function: str
    passed: bool
    summary: str
    hint: str = ""
    mistake: str | None = None
    case: str | None = None

    def __str__(self) -> str:
        if self.passed:
            return f"PASSED {self.function}: {self.summary}"
        lines = [f"NOT YET {self.function}: {self.summary}"]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    def assert_ok(self) -> None:
        """Print the report when passed; raise ``AssertionError`` carrying it otherwise."""
        __tracebackhide__ = True  # IPython and pytest then show the message, not this frame
        if not self.passed:
            raise AssertionError(str(self))
        print(self)


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(v) for v in value)
    return value


def _dtype_kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    if dtype.is_complex:
        return "complex"
    return "float" if dtype.is_floating_point else "integer"


def _dtype_difference(got: torch.dtype, expected: torch.dtype) -> str | None:
    """The dtype rule, the same in the visible checks and the grader: a float result must have
    exactly the expected dtype (float64 is not float32); an integer one any integer dtype."""
    got_kind, expected_kind = _dtype_kind(got), _dtype_kind(expected)
    if got_kind != expected_kind:
        return f"returned dtype {got} ({got_kind}), expected {expected} ({expected_kind})"
    if expected_kind != "integer" and got != expected:
        return (f"returned dtype {got}, expected {expected}: keep the dtype of the inputs "
                f"(a new tensor made with torch.zeros, torch.tensor or numpy is float64 or "
                f"float32 depending on how it was made; pass dtype= or call .to({expected}))")
    return None


def _describe_tensor_difference(got: torch.Tensor, expected: torch.Tensor, rtol: float,
                                atol: float) -> str | None:
    if type(got) is not torch.Tensor:
        return f"returned a {type(got).__qualname__}, expected a plain torch.Tensor"
    if tuple(got.shape) != tuple(expected.shape):
        return f"returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    dtype_difference = _dtype_difference(got.dtype, expected.dtype)
    if dtype_difference:
        return dtype_difference
    if got.numel() == 0:
        return None
    if _dtype_kind(expected.dtype) == "float":
        wrong = ~torch.isclose(got.double(), expected.double(), rtol=rtol, atol=atol)
    else:
        wrong = got != expected
    if not bool(wrong.any()):
        return None
    where = tuple(int(i) for i in wrong.nonzero()[0])
    return (f"{int(wrong.sum())} of {wrong.numel()} values differ; first at index {where}: "
            f"expected {expected[where].item()!r}, got {got[where].item()!r}")


def describe_difference(got: Any, expected: Any, rtol: float = 1e-5,
                        atol: float = 1e-6) -> str | None:
    """``None`` when ``got`` equals ``expected``, else one sentence saying how they differ.

    Tensors must agree in shape, kind of dtype (bool / integer / float) and values (floats
    within ``rtol``/``atol``); Python integers must be exact ``int`` values.
    """
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            extra = " (did you forget `return`?)" if got is None else ""
            return (f"returned {type(got).__name__}{extra}, expected a torch.Tensor of shape "
                    f"{tuple(expected.shape)}")
        return _describe_tensor_difference(got, expected, rtol, atol)
    if isinstance(expected, numbers.Integral):
        if got is None:
            return "returned None (did you forget `return`?), expected an int"
        if isinstance(got, bool) or not isinstance(got, numbers.Real):
            return f"returned {type(got).__name__} {got!r}, expected an int"
        if not isinstance(got, numbers.Integral):
            # An exact-looking float is still wrong: above 2**53 floats drop digits.
            if isinstance(got, float) and math.isfinite(got) and got == expected:
                return f"returned the float {got!r}, expected the exact int {expected}"
            return f"returned {got!r} ({type(got).__name__}), expected the int {expected}"
        if type(got) is not int:
            kind = f"{type(got).__module__}.{type(got).__qualname__}"
            return (f"returned {got!r} as a {kind}, expected a Python int: wrap the result in "
                    f"int(...) (numpy and torch integers overflow silently at 2**63)")
        if int(got) != int(expected):
            return f"returned {int(got):,}, expected {int(expected):,}"
        return None
    if isinstance(expected, float):
        if not isinstance(got, numbers.Real) or isinstance(got, bool):
            return f"returned {type(got).__name__} {got!r}, expected a float"
        if not math.isclose(float(got), expected, rel_tol=rtol, abs_tol=atol):
            return f"returned {got!r}, expected {expected!r}"
        return None
    raise TypeError(f"cannot compare against a reference of type {type(expected).__name__}")


def _same(a: Any, b: Any, question: Question) -> bool:
    """Whether two outputs agree, for matching a student's output against a mistake's."""
    if type(a) is float or type(b) is float:  # a float mistake matches only a float answer
        if not (isinstance(a, float) and isinstance(b, float)):
            return False
        return math.isclose(a, b, rel_tol=1e-12)
    try:
        return describe_difference(a, b, question.rtol, question.atol) is None
    except TypeError:
        return False


def _run(fn: Callable[..., Any], case: Case) -> Any:
    return fn(*_clone(case.args))


def _mistakes_reproduced(question: Question, got: Any, case: Case, expected: Any
                         ) -> list[Mistake]:
    """The classic mistakes that give exactly ``got`` on ``case`` (and differ from correct)."""
    found = []
    for mistake in question.mistakes:
        try:
            wrong = _run(mistake.implementation, case)
        except Exception:  # a mistake that cannot run on this case diagnoses nothing here
            continue
        if not _same(wrong, expected, question) and _same(got, wrong, question):
            found.append(mistake)
    return found


def _narrow(question: Question, student: Callable[..., Any], candidates: list[Mistake],
            later: Sequence[Case]) -> Mistake:
    """Among several matching mistakes, keep the first that also explains the later cases."""
    for mistake in candidates:
        consistent = True
        for case in later:
            try:
                if not _same(_run(student, case), _run(mistake.implementation, case), question):
                    consistent = False
                    break
            except Exception:
                consistent = False
                break
        if consistent:
            return mistake
    return candidates[0]


def generic_hint(question: Question, case: Case, difference: str) -> str:
    """The hint when nothing more specific fits: the reference to compare with and where."""
    reference = question.reference_name or f"swin_edu's {question.function}"
    return (f"no known mistake explains this. Compare your output with {reference} on "
            f"{case.label}, starting from the first differing element ({difference}), and "
            f"follow that one value back through your computation.")


def _ratio(got: torch.Tensor, expected: torch.Tensor) -> float | None:
    """``k`` when ``got == k * expected`` everywhere (``k != 0``), else ``None``."""
    nonzero = expected != 0
    if not bool(nonzero.any()) or bool((got[~nonzero] != 0).any()):
        return None
    ratios = got[nonzero] / expected[nonzero]
    k = float(ratios.flatten()[0])
    if k == 0 or not math.isfinite(k):
        return None
    return k if bool(torch.allclose(ratios, torch.full_like(ratios, k), rtol=1e-5, atol=0)) \
        else None


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        return bool(torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-6))
    return bool(torch.equal(a, b))


def _number_text(k: float) -> str:
    for whole in (2, 3, 4, 8, 16):
        if math.isclose(k, whole):
            return f"exactly {whole} times"
        if math.isclose(k, 1 / whole):
            return f"exactly 1/{whole} of"
    return f"{k:.6g} times"


def _axes_text(dims: tuple[int, ...]) -> str:
    return "axis " + str(dims[0]) if len(dims) == 1 else "axes " + " and ".join(map(str, dims))


def _tensor_pattern(got: torch.Tensor, expected: torch.Tensor) -> tuple[str, str] | None:
    if got.dtype == torch.bool or expected.dtype == torch.bool or got.numel() < 2:
        return None
    integers = not got.is_floating_point() and not expected.is_floating_point()
    got, expected = got.double(), expected.double()
    if got.shape == expected.shape:
        if bool((expected != 0).any()) and _close(got, -expected):
            return ("sign_flipped", "every value has the right size but the opposite sign "
                    "(yours is minus the expected one): look for a subtraction written the "
                    "other way round or a constant with the wrong sign.")
        k = _ratio(got, expected)
        if k is not None and not math.isclose(k, 1.0) and not math.isclose(k, -1.0):
            return ("k_times", f"every value is {_number_text(k)} the expected one: a factor is "
                    f"wrong (counted twice, missing, or a power off), not the structure.")
        offset = got - expected
        c = float(offset.flatten()[0])
        if c != 0 and bool(torch.allclose(offset, torch.full_like(offset, c), atol=1e-6)):
            if abs(c) == 1:
                return ("off_by_one", f"every value is {c:+g} from the expected one: an index "
                        f"or a count is off by one (a range that starts at 1, or a +1/-1 "
                        f"too many).")
            return ("constant_offset", f"every value is off by the same constant, {c:+g}: the "
                    f"structure is right; check a constant you add or subtract.")
        for dims in _roll_candidates(got.dim()):
            for step in (1, -1):
                if _close(got, torch.roll(expected, [step] * len(dims), dims)):
                    return ("off_by_one", f"your output is the expected one moved by one "
                            f"position along {_axes_text(dims)} (wrapping round): an index or "
                            f"a shift is off by one.")
        collision = _collision(got, expected) if integers else None
        if collision:
            return ("values_collide", collision)
    for i in range(got.dim()):
        for j in range(i + 1, got.dim()):
            swapped = expected.transpose(i, j)
            if swapped.shape == got.shape and _close(got, swapped) and not _close(got, expected):
                return ("transposed", f"your output is the expected one with axes {i} and {j} "
                        f"swapped (your [.., a, .., b, ..] is the expected [.., b, .., a, ..]): "
                        f"two indices are used in the wrong order.")
    return None


def _collision(got: torch.Tensor, expected: torch.Tensor) -> str | None:
    """A hint when ``got`` merges values that ``expected`` keeps apart (and splits none)."""
    mapping: dict[int, int] = {}
    for e, g in zip(expected.flatten().tolist(), got.flatten().tolist()):
        if mapping.setdefault(int(e), int(g)) != int(g):
            return None  # not a function of the expected value: something else is wrong
    by_value: dict[int, list[int]] = {}
    for e, g in mapping.items():
        by_value.setdefault(g, []).append(e)
    merged = next((sorted(es) for es in by_value.values() if len(es) > 1), None)
    if merged is None:
        return None
    return (f"entries that should hold different values {merged[0]} and {merged[1]} both hold "
            f"the same value in your output: two different cases get one number. Check the "
            f"formula that combines two indices into one; each combination must give a "
            f"different number.")


def _roll_candidates(ndim: int) -> list[tuple[int, ...]]:
    singles = [(d,) for d in range(ndim)]
    pairs = [(a, b) for a in range(ndim) for b in range(a + 1, ndim)]
    return singles + pairs


def _number_pattern(got: Any, expected: Any) -> tuple[str, str] | None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real) or not expected:
        return None
    if got == -expected:
        return ("sign_flipped", "your number has the right size but the opposite sign: a "
                "subtraction is written the other way round.")
    k = got / expected
    if k != 1 and any(math.isclose(k, m) or math.isclose(k, 1 / m) for m in (2, 3, 4, 8)):
        return ("k_times", f"your number is {_number_text(k)} the expected one: a factor is "
                "counted twice or missing.")
    if abs(got - expected) == 1:
        return ("off_by_one", "your number is off by exactly one: a count or an index is off "
                "by one.")
    return None


def detect_pattern(got: Any, expected: Any) -> tuple[str, str] | None:
    """``(name, hint)`` when ``got`` is a simple transform of ``expected``, else ``None``.

    Recognises "k times the expected", "sign flipped", "offset by a constant", "off by one"
    (a value +-1, or every value moved by one position), "different values merged" (integer
    results) and "two axes swapped". The hints
    describe the output, not the code, so they fit loops, views and library calls alike.
    """
    try:
        if isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor):
            return _tensor_pattern(got.detach(), expected)
        if isinstance(expected, numbers.Real) and not isinstance(got, torch.Tensor):
            return _number_pattern(got, expected)
    except (RuntimeError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return None


def _exception_feedback(question: Question, case: Case, error: Exception) -> Feedback:
    message = " ".join(str(error).split())
    if len(message) > 300:
        message = message[:297] + "..."
    summary = f"on {case.label}: raised {type(error).__name__}: {message}"
    if isinstance(error, NotImplementedError):
        return Feedback(question.function, False, "not written yet (it raises "
                        "NotImplementedError)", hint="replace `raise NotImplementedError()` "
                        "with your code, then run this cell again.", case=case.label)
    for needle, hint in question.error_hints + _COMMON_ERROR_HINTS:
        if needle in message:
            return Feedback(question.function, False, summary, hint=hint, case=case.label)
    return Feedback(question.function, False, summary,
                    hint=f"run {question.signature} on the input above and read the traceback.",
                    case=case.label)


def check(question: Question, student: Any) -> Feedback:
    """Grade ``student`` against ``question``; never raises because of the student's code.

    Args:
        question: the reference, inputs and classic mistakes.
        student: the student's function (anything else is reported as feedback).
    Returns:
        A :class:`Feedback`; ``passed`` only when every case matches the reference.
    """
    if not callable(student):
        return Feedback(question.function, False, f"expected a function {question.signature}, "
                        f"got {type(student).__name__}",
                        hint=f"define it with `def {question.signature}:`")
    cases = question.cases()
    for position, case in enumerate(cases):
        expected = _run(question.reference, case)
        try:
            got = _run(student, case)
        except Exception as error:  # the student's bug is feedback, not a crash
            return _exception_feedback(question, case, error)
        difference = describe_difference(got, expected, question.rtol, question.atol)
        if difference is None:
            continue
        summary = f"on {case.label}: {difference}"
        candidates = _mistakes_reproduced(question, got, case, expected)
        if not candidates:
            pattern = detect_pattern(got, expected)
            hint = pattern[1] if pattern else generic_hint(question, case, difference)
            return Feedback(question.function, False, summary, hint=hint,
                            mistake=pattern[0] if pattern else None, case=case.label)
        mistake = _narrow(question, student, candidates, cases[position + 1:])
        return Feedback(question.function, False, summary, hint=mistake.hint,
                        mistake=mistake.name, case=case.label)
    labels = "; ".join(case.label for case in cases)
    return Feedback(question.function, True, f"matches swin_edu on {len(cases)} inputs "
                    f"({labels})")
