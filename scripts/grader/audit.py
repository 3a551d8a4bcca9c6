"""Integrity audit: read (never run) the code of each submitted notebook and name what looks
like tampering with the grader.

Flagged, with the cell and the line:

- assigning to, or deleting, an attribute of something imported (``torch.testing.x = ...``,
  ``grading.Feedback.assert_ok = ...``, ``swin_edu.patches.patch_partition = f``), including
  through an alias (``t = torch.testing; t.assert_close = ...``);
- ``setattr`` / ``delattr`` / ``vars(...)[...] =`` / ``__dict__`` writes on anything;
- ``sys.modules``, ``builtins`` / ``__builtins__``, ``importlib.reload``, ``globals()`` writes;
- ``exec``, ``eval``, ``compile`` (code the audit cannot read);
- ``os._exit``, ``sys.exit``, ``exit()``, ``quit()``, ``os.kill``, ``os.abort`` (they kill the
  grading kernel or stop it early);
- using the package's reference for the very function asked (``swin_edu.patches.patch_partition``
  in a ``patch_partition`` assignment, however imported), or anything of ``swin_edu.grading``
  other than the checkers, ``toy_attention`` and ``record_answers``.

Honest code in any style (loops, unfold, einsum, numpy, ``scaled_dot_product_attention``)
uses none of these. The audit reads every code cell the student could edit; the locked cells
come from the source and are skipped.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

# The package's own answer to each graded function (dotted names, any import route).
REFERENCES: dict[str, tuple[str, ...]] = {
    "patch_partition": ("swin_edu.patches.patch_partition", "swin_edu.patches.PatchEmbed"),
    "merge_patches": ("swin_edu.patches.merge_patches", "swin_edu.patches.PatchMerging"),
    "window_partition": ("swin_edu.windows.window_partition",),
    "window_reverse": ("swin_edu.windows.window_reverse",),
    "relative_position_index": ("swin_edu.relative_position.relative_position_index",
                                "swin_edu.relative_position.RelativePositionBias"),
    "lookup_bias": ("swin_edu.relative_position.lookup_bias",
                    "swin_edu.relative_position.RelativePositionBias"),
    "cyclic_shift": ("swin_edu.windows.cyclic_shift", "swin_edu.windows.reverse_cyclic_shift"),
    "region_labels": ("swin_edu.masks.region_labels", "swin_edu.masks.shifted_window_mask"),
    "mask_from_labels": ("swin_edu.masks.shifted_window_mask",),
    "window_attention": ("swin_edu.attention.explicit_attention",
                         "swin_edu.attention.WindowAttention",
                         "swin_edu.attention_variants"),
    "shifted_window_attention": ("swin_edu.attention.shifted_window_attention",
                                 "swin_edu.attention_variants"),
    "msa_flops": ("swin_edu.complexity.msa_flops",),
    "wmsa_flops": ("swin_edu.complexity.wmsa_flops",),
    "flops_saving": ("swin_edu.complexity.msa_flops", "swin_edu.complexity.wmsa_flops"),
}
# What a student may use from swin_edu.grading.
GRADING_ALLOWED = ("swin_edu.grading.check_", "swin_edu.grading.toy_attention",
                   "swin_edu.grading.record_answers")
KILLERS = {"os._exit": "ends the kernel process", "sys.exit": "stops the kernel",
           "os.kill": "signals a process (the kernel)", "os.abort": "ends the kernel process",
           "exit": "stops the kernel", "quit": "stops the kernel",
           "builtins.exit": "stops the kernel", "builtins.quit": "stops the kernel"}


@dataclass(frozen=True)
class Flag:
    """One suspicious line in one submission."""

    student: str
    assignment: str
    cell: str
    line: int
    what: str
    code: str

    def __str__(self) -> str:
        return (f"{self.student} / {self.assignment} / cell {self.cell}, line {self.line}: "
                f"{self.what}\n    {self.code}")


class _Scanner(ast.NodeVisitor):
    """Resolves names to dotted import paths (``tt`` -> ``torch.testing``) across cells."""

    def __init__(self, asked: Iterable[str]) -> None:
        self.aliases: dict[str, str] = {}
        self.references = {name for f in asked for name in REFERENCES.get(f, ())}
        self.found: list[tuple[int, str]] = []

    # -- name resolution
    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id if node.id in KILLERS or node.id in (
                "__builtins__", "globals", "vars", "setattr", "delattr", "getattr", "sys", "os",
                "builtins", "exec", "eval", "compile") else None)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "__import__" and node.args and \
                isinstance(node.args[0], ast.Constant):
            return str(node.args[0].value)
        if isinstance(node, ast.Subscript):  # sys.modules["x"]
            base = self.dotted(node.value)
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            return f"{base}[{key!r}]" if base else None
        return None

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what))

    # -- imports and aliases
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            self._check_name(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            self._check_name(node, full)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        # `t = torch.testing` makes `t` an alias whose attributes are the module's.
        target_value = self.dotted(node.value)
        for target in node.targets:
            self._check_store(target, node)
            if isinstance(target, ast.Name):
                if target_value and target_value.split(".")[0] in self._imported_roots():
                    self.aliases[target.id] = target_value
                else:
                    self.aliases.pop(target.id, None)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_store(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_store(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_store(target, node, verb="deletes")
        self.generic_visit(node)

    def _imported_roots(self) -> set[str]:
        return {path.split(".")[0] for path in self.aliases.values()} | {
            "sys", "os", "builtins", "__builtins__"}

    def _check_store(self, target: ast.AST, node: ast.AST, verb: str = "assigns to") -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_store(element, node, verb)
            return
        if isinstance(target, ast.Attribute):
            owner = self.dotted(target.value)
            if owner and owner.split(".")[0] in self._imported_roots():
                self.flag(node, f"{verb} {owner}.{target.attr}, an attribute of an imported "
                                f"module or object (monkeypatching)")
            elif target.attr in ("__dict__", "__code__", "__globals__", "__class__"):
                self.flag(node, f"{verb} .{target.attr}")
        elif isinstance(target, ast.Subscript):
            owner = self.dotted(target.value)
            if owner and (owner.startswith(("sys.modules", "builtins", "__builtins__"))
                          or owner.endswith(".__dict__")):
                self.flag(node, f"{verb} {owner}[...]")
            elif isinstance(target.value, ast.Call) and \
                    self.dotted(target.value.func) in ("globals", "vars", "locals"):
                self.flag(node, f"{verb} an entry of {self.dotted(target.value.func)}()")

    # -- uses
    def visit_Call(self, node: ast.Call) -> None:
        name = self.dotted(node.func)
        if name in ("setattr", "delattr", "builtins.setattr", "builtins.delattr"):
            self.flag(node, f"calls {name}(...), which changes an attribute by name")
        elif name in KILLERS:
            self.flag(node, f"calls {name}(), which {KILLERS[name]}: the rest of the notebook "
                            f"is not graded")
        elif name in ("exec", "eval", "compile", "builtins.exec", "builtins.eval"):
            self.flag(node, f"calls {name}(...), which runs code the audit cannot read")
        elif name in ("importlib.reload", "imp.reload"):
            self.flag(node, f"calls {name}(...), which replaces a module the grader uses")
        elif name in ("getattr", "builtins.getattr") and len(node.args) >= 2 and \
                isinstance(node.args[1], ast.Constant):
            owner = self.dotted(node.args[0])
            if owner:
                self._check_name(node, f"{owner}.{node.args[1].value}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.dotted(node)
        if name and isinstance(node.ctx, ast.Load):
            self._check_name(node, name)
        if name is None:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            name = self.dotted(node)
            if name:
                self._check_name(node, name)
            if node.id == "__builtins__":
                self.flag(node, "uses __builtins__")

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("sys.modules"):
            self.flag(node, "uses sys.modules, the table of imported modules")
        elif name == "builtins" or name.startswith("builtins."):
            if name.split(".")[-1] not in ("print", "range", "len"):
                self.flag(node, f"uses {name}")
        elif name.startswith("swin_edu.grading") and not name.startswith(GRADING_ALLOWED) \
                and name != "swin_edu.grading":
            self.flag(node, f"uses {name}: the grader's internals (its references and "
                            f"hidden inputs), not a checker")
        else:
            for reference in self.references:
                if name == reference or name.startswith(reference + "."):
                    self.flag(node, f"uses {reference}, the package's own answer to the "
                                    f"function this assignment asks for")
                    break


def _cells(nb: dict) -> Iterable[tuple[str, str, bool]]:
    """(cell name, source, student-editable) for each code cell."""
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        name = meta.get("grade_id") or f"#{index + 1} (no nbgrader id)"
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        yield name, source, not meta.get("locked", False)


def _ipython_lines(source: str) -> str:
    """Blank out IPython magics and shell escapes so the rest parses; lines keep their number."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def audit_notebook(nb: dict, student: str, assignment: str, asked: Iterable[str]) -> list[Flag]:
    """The suspicious lines of one notebook (JSON dict), in cell order."""
    scanner = _Scanner(asked)
    flags: list[Flag] = []
    for cell, source, editable in _cells(nb):
        scanner.found = []
        try:
            tree = ast.parse(_ipython_lines(source))
        except SyntaxError as error:
            if editable:
                flags.append(Flag(student, assignment, cell, error.lineno or 0,
                                  "does not parse, so it could not be audited",
                                  (error.text or "").strip()))
            continue
        scanner.visit(tree)
        if not editable:
            continue
        lines = source.splitlines()
        seen = set()
        for line, what in scanner.found:
            if (line, what) in seen:
                continue
            seen.add((line, what))
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            flags.append(Flag(student, assignment, cell, line, what, code))
    return flags


def audit_course(course: Path, asked: dict[str, list[str]]) -> list[Flag]:
    """Audit ``course/submitted/<student>/<assignment>/*.ipynb`` for the given assignments.

    ``asked`` maps each assignment to the functions it grades.
    """
    flags: list[Flag] = []
    for assignment, functions in sorted(asked.items()):
        for path in sorted((course / "submitted").glob(f"*/{assignment}/*.ipynb")):
            student = path.parent.parent.name
            try:
                nb = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                flags.append(Flag(student, assignment, "-", 0, f"not a readable notebook: "
                                                              f"{error}", ""))
                continue
            flags.extend(audit_notebook(nb, student, assignment, functions))
    return flags


def write_report(flags: list[Flag], path: Path) -> None:
    path.write_text(json.dumps([asdict(flag) for flag in flags], indent=1) + "\n")
