"""The pages point at tests that exist: every ``tests/...py`` (or, in the fault table, ``...py::test``) a page names is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: ``tests/slow/test_x.py::test_name`` anywhere; in the fault table the path is relative to tests/.
REFERENCE = re.compile(r"(?<![\w/.-])((?:tests/)?(?:[\w]+/)*test_\w+\.py)(?:::(test_\w+))?")


def references(text: str) -> list[tuple[str, str]]:
    """(path under tests/, test name or "") for each test a page names."""
    out = []
    for path, name in REFERENCE.findall(text):
        out.append((path.removeprefix("tests/"), name))
    return out


def missing(pages=PAGES, tests: Path = ROOT / "tests") -> list[str]:
    """Each reference whose file or test is not there, as ``page: reference``."""
    bad = []
    for page in pages:
        for path, name in references(page.read_text()):
            file = tests / path
            if not file.is_file():
                bad.append(f"{page.name}: tests/{path} (no such file)")
            elif name and not re.search(rf"^def {name}\b", file.read_text(), re.M):
                bad.append(f"{page.name}: tests/{path}::{name} (no such test)")
    return bad


def test_references_are_read_from_both_forms():
    text = (
        "see `tests/slow/test_a.py::test_b` and `mpi/test_c.py::test_d`, `tests/test_e.py`; not benchmarks/x_test_f.py"
    )
    assert references(text) == [("slow/test_a.py", "test_b"), ("mpi/test_c.py", "test_d"), ("test_e.py", "")]


def test_a_moved_test_is_caught(tmp_path):
    (tmp_path / "tests" / "slow").mkdir(parents=True)
    (tmp_path / "tests" / "slow" / "test_a.py").write_text("def test_b():\n    pass\n")
    page = tmp_path / "page.md"
    page.write_text("`tests/slow/test_a.py::test_b`, `tests/test_a.py::test_b`, `tests/slow/test_a.py::test_c`\n")
    assert missing([page], tmp_path / "tests") == [
        "page.md: tests/test_a.py (no such file)",
        "page.md: tests/slow/test_a.py::test_c (no such test)",
    ]


def test_every_test_a_page_names_exists():
    assert missing() == []
    assert sum(len(references(p.read_text())) for p in PAGES) > 20  # the pages do name tests
