"""The website's Sphinx extension (book/_ext/swin_book.py): which explorer a cell displays,
and which of them the kernel-free states can stand in for."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "book" / "_ext"))
import swin_book  # noqa: E402


@pytest.mark.parametrize("source, expected", [
    ("MaskExplorer(H=8, W=8)", ("MaskExplorer", {"H": 8, "W": 8})),
    ("explorer = ComplexityExplorer(M=7)\nexplorer", ("ComplexityExplorer", {"M": 7})),
    ("RelativePositionExplorer(window_size=3, query=slot)",  # computed query: default there
     ("RelativePositionExplorer", {"window_size": 3})),
    ("print(1)", None),
    ("%matplotlib inline\nMaskExplorer()", None),
])
def test_displayed_explorer(source, expected):
    assert swin_book.displayed_explorer(source) == expected


def test_an_explorer_of_computed_data_is_not_replaced_by_precomputed_states():
    name, kwargs = swin_book.displayed_explorer("e = RelativePositionExplorer(table=t)\ne")
    assert swin_book.explorer_kind(name, kwargs) is None
    for language in ("en", "zh"):
        html = swin_book.explorer_node(name, kwargs, language).astext()
        assert "data-explorer" not in html and "<code>table</code>" in html


def test_notebook_09s_trained_table_needs_a_kernel():
    """09 shows the bias table it trained: the site must not show the generic index explorer
    there as if it were that table."""
    cells = json.loads((REPO / "notebooks" / "09_shift_experiment.ipynb").read_text())["cells"]
    shown = [swin_book.displayed_explorer("".join(c["source"])) for c in cells
             if c["cell_type"] == "code"]
    shown = [s for s in shown if s is not None]
    assert shown and all(swin_book.explorer_kind(*s) is None for s in shown)
