"""The course PDF (`make pdf`): every notebook's title is in it, with a plausible page count."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from build_site import notebook_title, notebooks  # noqa: E402

# The PDF printed on A4 from the executed course had 163 pages (December 2026); far fewer means
# pages went missing (an unexecuted notebook, a cut document), far more a layout gone wrong.
MIN_PAGES, MAX_PAGES = 80, 400


def _normal(text: str) -> str:
    """Spaces collapsed, ligatures (ﬀ, ﬁ, ...) spelled out, as text extraction varies;
    Sphinx's smart quotes (paper’s) as the notebooks type them (paper's)."""
    text = text.replace("\ufb00", "ff").replace("\ufb01", "fi").replace("\ufb02", "fl")
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


def test_pdf_has_every_notebook_and_a_sane_page_count(pdf):
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    assert MIN_PAGES <= len(reader.pages) <= MAX_PAGES, f"{len(reader.pages)} pages"
    text = _normal(" ".join(page.extract_text() or "" for page in reader.pages))
    course, appendices = notebooks()
    missing = [notebook_title(p) for p in course + appendices
               if _normal(notebook_title(p)) not in text]
    assert not missing, f"notebook titles not in the PDF: {missing}"
    for heading in ("Explorer lab", "Gallery", "API reference"):
        assert heading in text
    # the figures are in it: the course draws more pictures than it has notebooks
    images = sum(_image_count(page) for page in reader.pages)
    assert images >= len(course), f"only {images} images in the PDF"


def _image_count(page) -> int:
    """Image XObjects drawn on a page (counted, not decoded)."""
    objects = page.get("/Resources", {}).get("/XObject", {})
    return sum(1 for ref in objects.values() if ref.get_object().get("/Subtype") == "/Image")
