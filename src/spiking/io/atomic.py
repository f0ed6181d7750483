"""Atomic files: every file is written under a temporary name and renamed into place.

No reader ever sees a truncated file, and an interrupted write leaves the old
file (or none). Figures go through :func:`save_figure`, the same way.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_csv", "new_figure", "save_figure"]


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path, head: list, rows) -> Path:
    """A CSV file (``\\n`` line ends) with a header row and ``rows``, written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    w.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def new_figure(**kwargs):
    """A matplotlib ``Figure`` on the Agg canvas (no pyplot, no screen); ``kwargs`` go to ``Figure``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, **kwargs) -> Path:
    """Save a matplotlib ``Figure`` to ``path`` atomically (format from the suffix).

    ``kwargs`` go to ``Figure.savefig`` (``dpi``, ``bbox_inches``, ...).
    """
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".").lower() or "png", **kwargs)
    return atomic_write_bytes(path, buf.getvalue())
