"""`python -m swin_edu.figures` regenerates the gallery: every file, non-blank, right size."""

import os

import numpy as np
import pytest
from PIL import Image

from swin_edu import figures


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """The gallery written once per test run (about 20 s), not once per xdist worker: the
    first worker writes it under a lock into the run's shared temporary folder, the others
    wait and read it (pytest-xdist's recipe; filelock comes with torch)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nothing to share
        out = tmp_path_factory.mktemp("figures")
        return out, figures.generate(out)
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent  # one per run, shared by its workers
    out, done = shared / "figures", shared / "figures.done"
    with FileLock(str(shared / "figures.lock")):
        if not done.is_file():
            done.write_text("\n".join(p.name for p in figures.generate(out)))
    return out, [out / name for name in done.read_text().splitlines()]


def test_every_figure_is_written(generated):
    out, paths = generated
    expected = {f"{name}.png" for name in figures.FIGURES}
    expected |= {f"{name}.svg" for name in figures.SVG_FIGURES}
    assert {p.name for p in paths} == expected
    assert {p.name for p in out.iterdir()} == expected


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_png_size_and_content(generated, name):
    out, _ = generated
    image = Image.open(out / f"{name}.png")
    fig = figures.FIGURES[name]() if name in ("masks_4x4", "region_labels_4x4") else None
    if fig is not None:  # cheap ones: compare with the Figure's own size
        width, height = fig.get_size_inches() * figures.DPI
        assert image.size == (round(width), round(height))
    assert 300 <= image.size[0] <= 1000, "fits a notebook column at 100 dpi"
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20, "figure looks blank"
    assert (pixels < 200).mean() > 0.03, "almost nothing drawn"


def test_svg_is_vector(generated):
    out, _ = generated
    for name in figures.SVG_FIGURES:
        text = (out / f"{name}.svg").read_text()
        assert text.lstrip().startswith("<?xml") and "<path" in text


def test_deterministic(generated, tmp_path):
    out, _ = generated
    again = figures.generate(tmp_path, ["masks_4x4", "complexity"])
    for path in again:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_cli_and_unknown_name(tmp_path, capsys):
    figures.main(["--out", str(tmp_path), "region_labels_4x4"])
    assert (tmp_path / "region_labels_4x4.png").exists()
    assert "region_labels_4x4.png" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown figure"):
        figures.generate(tmp_path, ["nope"])


def test_readme_gallery_shows_every_figure():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    gallery = readme[readme.index("## Gallery"):readme.index("## For teachers")]
    shown = set(re.findall(r"\(figures/([a-z0-9_]+)\.png\)", gallery))
    expected = set(figures.FIGURES)
    assert shown == expected, (f"missing from the gallery: {sorted(expected - shown)}; "
                               f"not a gallery figure: {sorted(shown - expected)}")
    for name in shown:
        assert (root / "figures" / f"{name}.png").exists(), name
