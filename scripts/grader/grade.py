"""Grade one submission: the student's solution cells run in the sandbox on secret inputs, and
this process, which never runs student code, compares the answers with its own references.

For each submission the grader

1. reads the solution cells out of the notebook as text (:mod:`grader.extract`);
2. draws hidden inputs from the course's secret (:mod:`grader.cases`);
3. runs the cells and calls the graded functions in the sandbox (:mod:`grader.sandbox`), which
   sends back plain data;
4. computes the expected answers with ``swin_edu``'s references, here, and diagnoses any
   difference with the same engine as the visible checks (:func:`swin_edu.grading.check`), so
   the feedback names the classic mistake on the hidden input;
5. flags what a teacher should read: a function whose syntax tree is a near copy of the
   package's (:mod:`grader.similarity`), an import of the course package or another Swin
   implementation, a submission changed since it was collected.

The result is saved as JSON under ``<course>/.grader/results/`` (teacher-only), keyed by the
submission's SHA-256, and nbgrader's autograde step (:mod:`grader.nbgrader_step`) turns it into
the graded cells' outputs and so into points.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from grader import cases as hidden
from grader import extract, sandbox, similarity
from grader.given import GIVEN
from grader.runner import REFUSED
from swin_edu import grading
from swin_edu.grading import Feedback, Question
from swin_edu.grading.attention import toy_attention

RESULTS = Path(".grader") / "results"
# Modules whose import from a solution cell is flagged: the ones the sandbox refuses (the
# course package and other Swin implementations), one list for both.
FOREIGN = REFUSED
HELPERS = {"toy_attention": toy_attention}


@dataclass
class FunctionResult:
    """The verdict on one graded function."""

    function: str
    passed: bool
    report: str


@dataclass
class Result:
    """Everything the grader found in one submission."""

    student: str
    assignment: str
    sha256: str
    functions: dict[str, FunctionResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    printed: str = ""
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Result":
        functions = {k: FunctionResult(**v) for k, v in data.pop("functions").items()}
        return cls(functions=functions, **data)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_notebook(course: Path, assignment: str) -> dict:
    return json.loads((course / "source" / assignment / f"{assignment}.ipynb").read_text())


def graded_functions(nb: dict) -> list[str]:
    """The functions a source notebook grades: its ``test_<function>`` cells, in order."""
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id", "") for c in nb["cells"]
           if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade")]
    return [i.removeprefix("test_") for i in ids if i.startswith("test_")]


def setup_and_given(nb: dict) -> tuple[list[str], dict[str, list[str]]]:
    """The source's locked import cells without ``grading``, and the ``swin_edu`` functions
    they hand to the student (``{module: [name, ...]}``)."""
    setup: list[str] = []
    given: dict[str, list[str]] = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] != "code" or meta.get("grade") or meta.get("solution"):
            continue
        tree = ast.parse("".join(cell["source"]))
        if not all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body):
            continue  # only import cells are setup; other locked cells are for the student
        kept = []
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("swin_edu"):
                names = [a.name for a in node.names if a.name != "grading"]
                if names:
                    given.setdefault(node.module, []).extend(names)
                    kept.append(node)
            elif not (isinstance(node, ast.Import) and any(
                    a.name.startswith("swin_edu") for a in node.names)):
                kept.append(node)
        setup.append(ast.unparse(ast.Module(body=kept, type_ignores=[])))
    return setup, given


def _helpers_source(given: dict[str, list[str]]) -> str:
    functions = [toy_attention] + [GIVEN[name] for names in given.values() for name in names]
    return "import torch\n\n" + "\n\n".join(inspect.getsource(f) for f in functions)


def _encode_args(case_args: tuple, prefix: str, tensors: dict) -> list[dict]:
    encoded = []
    for position, arg in enumerate(case_args):
        if isinstance(arg, torch.Tensor):
            key = f"{prefix}/{position}"
            tensors[key] = arg
            encoded.append({"tensor": key})
        elif isinstance(arg, hidden.Helper):
            encoded.append({"helper": arg.name})
        else:
            encoded.append({"value": arg})
    return encoded


def _real_args(case: grading.Case) -> grading.Case:
    """The case as the reference sees it: helper names replaced by the grader's functions."""
    return grading.Case(case.label, tuple(HELPERS[a.name] if isinstance(a, hidden.Helper) else a
                                          for a in case.args))


class _Foreign:
    """Stands for an answer of a type the grader does not rebuild (its name and repr only)."""


def _stand_in(kind: str, base: type, value: Any = None) -> Any:
    module, _, name = kind.rpartition(".")
    cls = type(name, (base,), {"__module__": module, "__qualname__": name})
    return cls(value) if base is not _Foreign else cls()


def _exception(name: str, message: str) -> BaseException:
    known = getattr(builtins, name, None)
    if isinstance(known, type) and issubclass(known, Exception):
        try:
            return known(message)
        except Exception:  # an exception class with another signature
            pass
    return type(name, (Exception,), {})(message)


def decode(answer: dict, tensors: dict) -> Any:
    """One answer from the sandbox as a Python value (an exception is returned, not raised)."""
    kind = answer.get("type")
    if kind == "exception":
        return _exception(str(answer.get("name")), str(answer.get("message")))
    if "tensor" in answer:
        value = tensors.get(answer["tensor"])
        if kind == "torch.Tensor" and isinstance(value, torch.Tensor):
            return value
        return _stand_in(str(kind), _Foreign)
    if "value" in answer:
        value = answer["value"]
        if kind == "builtins.float":
            return float(value)
        return value
    if "number" in answer:
        number = answer["number"]
        is_int = number.lstrip("-").isdigit()
        return _stand_in(str(kind), int if is_int else float, int(number) if is_int
                         else float(number))
    return _stand_in(str(kind), _Foreign)


def _same_args(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
                    and x.shape == y.shape and torch.equal(x, y)):
                return False
        elif callable(x) or callable(y):
            if x is not y:
                return False
        elif x != y:
            return False
    return True


def replay(cases: list[grading.Case], answers: list[Any]) -> Callable[..., Any]:
    """A function that gives back, for each hidden input, what the student's function gave."""
    def student(*args: Any) -> Any:
        for case, answer in zip(cases, answers):
            if _same_args(args, case.args):
                if isinstance(answer, BaseException):
                    raise answer
                return answer
        raise LookupError("no recorded answer for this input")
    return student


def judge(question: Question, cases: list[grading.Case], answers: list[dict],
          tensors: dict) -> Feedback:
    """The verdict on the sandbox's answers, with the visible checks' diagnosis."""
    real = [_real_args(c) for c in cases]
    if answers and all(a.get("type") == "missing" for a in answers):
        return Feedback(question.function, False, f"the solution cells define no function "
                        f"{question.function} (keep the name and the arguments as given)",
                        hint=f"define it with `def {question.signature}:`")
    decoded = [decode(a, tensors) for a in answers]
    hidden_question = Question(question.function, question.reference, lambda: real,
                               question.mistakes, question.signature, question.reference_name,
                               question.rtol, question.atol, question.error_hints)
    feedback = grading.check(hidden_question, replay(real, decoded))
    if feedback.passed:
        return Feedback(question.function, True, f"matches the reference on {len(real)} hidden "
                        f"inputs drawn for this submission ({'; '.join(c.label for c in real)})")
    return feedback


def _flags_in_source(student: str, assignment: str, cell: extract.SolutionCell,
                     given: dict[str, list[str]]) -> list[dict]:
    flags = []
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return flags
    allowed = {f"{module}.{name}" for module, names in given.items() for name in names}
    lines = cell.source.splitlines()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = ast.unparse(node.func)
            if func in ("__import__", "importlib.import_module", "import_module"):
                names = [node.args[0].value]
        for name in names:
            if name.split(".")[0] in FOREIGN and name not in allowed:
                code = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
                flags.append({"student": student, "assignment": assignment, "cell": cell.name,
                              "line": node.lineno, "code": code,
                              "what": f"imports {name}: graded code must not use the course "
                                      f"package or another Swin implementation"})
    return flags


def _copy_flags(student: str, assignment: str, cells: list[extract.SolutionCell],
                functions: list[str]) -> list[dict]:
    flags = []
    for function in functions:
        reference = similarity.reference_shape(grading.QUESTIONS[function].reference)
        for cell in cells:
            ratio = similarity.is_copy(similarity.function_shape(cell.source, function),
                                       reference)
            if ratio is not None:
                name = grading.QUESTIONS[function].reference_name or function
                flags.append({"student": student, "assignment": assignment, "cell": cell.name,
                              "line": 1, "code": f"def {function}(...)",
                              "what": f"{function} is a near copy of {name} (syntax trees "
                                      f"{ratio:.0%} alike after renaming)"})
    return flags


def _request(cells: list[extract.SolutionCell], setup: list[str], given: dict,
             drawn: dict[str, list[grading.Case]]) -> tuple[dict, dict]:
    tensors: dict = {}
    calls = [{"function": function,
              "cases": [_encode_args(c.args, f"{function}/{i}", tensors)
                        for i, c in enumerate(function_cases)]}
             for function, function_cases in drawn.items()]
    request = {"helpers": _helpers_source(given), "setup": setup, "given": given,
               "cells": [{"name": c.name, "source": c.source} for c in cells if c.source],
               "calls": calls}
    return request, tensors


def grade_notebook(course: Path, assignment: str, student: str, path: Path,
                   slot: int = 0) -> Result:
    """Grade the notebook at ``path`` as ``student``'s submission of ``assignment``."""
    digest = sha256(path)
    result = Result(student, assignment, digest)
    source = source_notebook(course, assignment)
    functions = graded_functions(source)
    extracted = extract.read_notebook(path)
    if extracted.problem:
        result.problem = extracted.problem
        for function in functions:
            result.functions[function] = FunctionResult(function, False, extracted.problem)
        return result
    result.notes += [n for c in extracted.cells for n in c.notes]
    result.notes += [f"grade id {name} appears more than once (a duplicated cell?): every copy "
                     f"ran in notebook order, so the last definition counts"
                     for name in extracted.duplicates]
    setup, given = setup_and_given(source)
    for cell in extracted.cells:
        result.flags += _flags_in_source(student, assignment, cell, given)
    result.flags += _copy_flags(student, assignment, extracted.cells, functions)
    secret = hidden.course_secret(course)
    drawn = {f: hidden.hidden_cases(f, hidden.derive_seed(secret, assignment, f, student, digest))
             for f in functions}
    request, tensors = _request(extracted.cells, setup, given, drawn)
    run = sandbox.run(request, tensors, slot)
    if run.response is None:
        result.problem = run.problem
        for function in functions:
            result.functions[function] = FunctionResult(
                function, False, f"NOT GRADED {function}: {run.problem}; nothing could be "
                                 f"graded")
        return result
    response = run.response
    result.notes += [str(n) for n in response.get("notes", [])][:20]
    result.printed = str(response.get("printed", ""))[:2000]
    result.warnings = [str(w) for w in response.get("warnings", [])][:20]
    for name in response.get("refused_imports", [])[:10]:
        result.flags.append({"student": student, "assignment": assignment, "cell": "-",
                             "line": 0, "code": "", "what": f"tried to import {name} while "
                                                            f"graded (refused)"})
    answers = {r.get("function"): r.get("answers", []) for r in response["results"]
               if isinstance(r, dict)}
    for function in functions:
        got = answers.get(function, [])
        if len(got) != len(drawn[function]):
            feedback = Feedback(function, False, "the sandbox sent back no answers for it")
        else:
            feedback = judge(grading.QUESTIONS[function], drawn[function], got, run.tensors)
        result.functions[function] = FunctionResult(function, feedback.passed, str(feedback))
    return result


def result_path(course: Path, assignment: str, student: str) -> Path:
    return course / RESULTS / assignment / f"{student}.json"


def save(course: Path, result: Result) -> None:
    path = result_path(course, result.assignment, result.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    (course / RESULTS.parent).chmod(0o700)
    path.write_text(json.dumps(result.to_json(), indent=1) + "\n")


def load(course: Path, assignment: str, student: str) -> Result | None:
    path = result_path(course, assignment, student)
    if not path.is_file():
        return None
    return Result.from_json(json.loads(path.read_text()))
