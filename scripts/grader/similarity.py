"""Is a student's function a pasted copy of the package's? Compare normalized syntax trees.

Both functions are parsed, docstrings dropped, and every name, argument, attribute and constant
replaced by its kind (``NAME``, ``ATTR``, ``CONST``), so renaming variables or editing strings
changes nothing. The two node sequences are compared with :class:`difflib.SequenceMatcher`; a
ratio at or above :data:`THRESHOLD` on a reference of at least :data:`MIN_NODES` nodes is
flagged. The package's functions check their arguments before the idea (a dozen lines around
two), so an honest solution of the same idea stays well below the threshold, while a copy, even
renamed, stays above it.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import textwrap
from typing import Callable

THRESHOLD = 0.9
MIN_NODES = 40


def _drop_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def shape(tree: ast.AST) -> list[str]:
    """The node kinds of ``tree`` in walk order, names and values left out."""
    kinds = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.body = _drop_docstring(node.body)
        kinds.append(type(node).__name__)
    return kinds


def function_shape(source: str, name: str) -> list[str] | None:
    """:func:`shape` of the top-level function ``name`` defined in ``source``, if any."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            found = node  # the last definition wins, as when the cell runs
    return shape(found) if found is not None else None


def reference_shape(reference: Callable) -> list[str]:
    """:func:`shape` of a package function, from its source."""
    return shape(ast.parse(textwrap.dedent(inspect.getsource(reference))).body[0])


def similarity(student: list[str], reference: list[str]) -> float:
    """How alike two shapes are, from 0 (nothing shared) to 1 (identical)."""
    return difflib.SequenceMatcher(None, student, reference, autojunk=False).ratio()


def is_copy(student: list[str] | None, reference: list[str]) -> float | None:
    """The similarity when it says "copied", else ``None``."""
    if student is None or len(reference) < MIN_NODES:
        return None
    ratio = similarity(student, reference)
    return ratio if ratio >= THRESHOLD else None
