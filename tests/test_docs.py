"""The pages tell the truth about the code: every test a page names exists, every measured figure can be traced.

A page names tests as ``tests/...py`` (or, in the fault table, ``...py::test``); a figure (a time, a
memory size, a speed ratio) is traced when docs/benchmarks.md states it or its section names the
benchmark or command that measures it (:func:`untraced_figures`).
"""

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


# ---- figures: every measured figure in a page can be traced to where it was measured ----------

#: A measured figure: a time, a memory size or a speed ratio (``x2.55``, ``0.38x``).
FIGURE = re.compile(
    r"(?<![\w.,/-])(\d[\d,]*(?:\.\d+)?) ?(s|min|h|seconds?|minutes?|hours?|MB|GB|GiB|MiB|kB)\b"
    r"|(?<![\w.])x(\d+(?:\.\d+)?)\b(?!-)"
    r"|(?<![\w.])(\d+(?:\.\d+)?)x\b"
)
#: What makes the figures of a section traceable: the benchmark that measures them.
SOURCES = ("benchmarks/", "make bench")
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


def blocks(text: str) -> list[tuple[int, list[str], bool]]:
    """(first line, lines, is fenced code) per block: paragraphs and tables end at a blank line; a fence is one block."""
    out, cur, start, code = [], [], 1, False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if cur and not code:
                out.append((start, cur, False))
                cur = []
            if not code:
                start = n
            cur.append(line)
            if code:
                out.append((start, cur, True))
                cur = []
            code = not code
        elif code:
            cur.append(line)
        elif line.strip() == "":
            if cur:
                out.append((start, cur, False))
                cur = []
            start = n + 1
        else:
            if not cur:
                start = n
            cur.append(line)
    if cur:
        out.append((start, cur, code))
    return out


def untraced_figures(text: str, benchmarks: str) -> list[str]:
    """``line: figure`` for each measured figure of ``text`` that cannot be traced.

    A figure is traced when ``benchmarks`` (docs/benchmarks.md) states it, or when its section (from
    the last heading) names the benchmark that measures it (:data:`SOURCES`) or shows the ``spiking``
    command that gives it (in a code block of the section, or in backticks in the figure's own
    paragraph or table). Figures inside backticks (example output, options) and durations followed by
    "of model time" (parameters) are not measurements.
    """
    bad, section = [], ""
    for start, lines, code in blocks(text):
        block = "\n".join(lines)
        if block.startswith("#"):
            section = ""
        section += block + "\n"
        if code:
            if re.search(r"^(\.venv/bin/)?spiking \w", block, re.M):
                section += SOURCES[1] + "\n"
            continue
        sourced = any(s in section for s in SOURCES) or re.search(r"`(\.venv/bin/)?spiking \w", block)
        for i, line in enumerate(lines):
            prose = re.sub(r"`[^`]*`", "", line)
            for m in FIGURE.finditer(prose):
                if prose[m.end() :].startswith(" of model time"):
                    continue
                if not sourced and m.group(0) not in benchmarks:
                    bad.append(f"{start + i}: {m.group(0)}")
    return bad


def test_figures_are_found_and_traced():
    bench = "| default model | 30.9 s | 3,415 MB |"
    page = (
        "# A\n\nIt took 30.9 s and 3.4 GB, x2.55 faster; `--duration 5 s` is an option.\n\n"
        "## B\n\nThis one, 12 min, comes from `benchmarks/x.py`.\n\n"
        "## C\n\n```sh\nspiking run\n```\n\n| a | b |\n|---|---|\n| 7.5 s | 25 s of model time |\n\n"
        "## D\n\nBuilt with x86-64 in 2 h; 0.38x.\n"
    )
    assert untraced_figures(page, bench) == ["3: 3.4 GB", "3: x2.55", "21: 2 h", "21: 0.38x"]


def test_every_measured_figure_in_the_pages_is_traced():
    bench = BENCHMARKS.read_text()
    bad = {p.relative_to(ROOT).as_posix(): untraced_figures(p.read_text(), bench) for p in PAGES if p != BENCHMARKS}
    assert {k: v for k, v in bad.items() if v} == {}, "state these in docs/benchmarks.md, or name the benchmark"
