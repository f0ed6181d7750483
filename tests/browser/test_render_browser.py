"""The report in a real browser: headless Chromium loads index.html from a local server, every picture and movie is fetched.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package, ``make browser``).
Skipped when it is missing, except under ``CI`` (set and not empty/false),
where a missing browser is a failure.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

from spiking.render import render_run
from test_render import XSS, make_run_folder

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
]


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        if _ci():
            pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium: make browser)")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium: make browser)")
    return str(CHROMIUM)


class _Server:
    """A static server of a folder on 127.0.0.1 that logs each request's path and status."""

    def __init__(self, folder: Path):
        self.log: list[tuple[str, int]] = []
        log = self.log

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                log.append((unquote(urlsplit(self.path).path), int(code) if str(code).isdigit() else 0))

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def _chromium(exe: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        return subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=timeout
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class _Media(HTMLParser):
    def __init__(self):
        super().__init__()
        self.media: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag in ("img", "video", "source") and a.get("src"):
            self.media.append((tag, a["src"]))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = make_run_folder(
        tmp_path_factory.mktemp("browser") / "run",
        epochs=((XSS, 60.0), ("pattern0", 60.0)),
        manifest_extra={"command": ["spiking", "run", "<img src=x onerror=alert(2)>"]},
    )
    from PIL import Image

    (folder / "connectivity").mkdir()
    Image.new("RGB", (64, 32), (200, 30, 30)).save(folder / "connectivity" / "3.lgn_on_to_ex_on.png")
    render_run(folder, frame_ms=5.0)
    return folder


def test_report_loads_every_picture_and_movie(chromium, report):
    with _Server(report) as srv:
        url = f"http://127.0.0.1:{srv.port}/index.html"
        proc = _chromium(chromium, "--dump-dom", "--virtual-time-budget=5000", url)
        assert proc.returncode == 0, proc.stderr[-2000:]
        dom = proc.stdout
        log = list(srv.log)
    assert "</html>" in dom, dom[:500]
    p = _Media()
    p.feed(dom)
    assert not any(status >= 400 for _, status in log), log
    served = {path for path, status in log if status == 200}
    wanted = {"/" + unquote(src) for _, src in p.media}
    assert wanted, "no pictures or movies in the page"
    assert {
        "/movies/activity.mp4",
        "/movies/ex_on.mp4",
        "/rates/population_rates.png",
        "/rates/raster.png",
        "/connectivity/3.lgn_on_to_ex_on.png",
    } <= wanted
    missing = wanted - served
    assert not missing, f"referenced but not fetched with 200: {sorted(missing)}; log: {log}"
    assert "/index.html" in served
    for section in ("run", "timings", "network", "movies", "rates", "retina", "connectivity", "config", "files"):
        assert section in p.ids, section
    # text from the config and manifest is text: no script element, no injected image
    assert "script" not in p.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert not any(src == "x" for _, src in p.media)


def test_report_screenshot_is_not_blank(chromium, report, tmp_path):
    shot = tmp_path / "shot.png"
    with _Server(report) as srv:
        proc = _chromium(
            chromium,
            f"--screenshot={shot}",
            "--window-size=1280,1800",
            "--virtual-time-budget=5000",
            "--hide-scrollbars",
            f"http://127.0.0.1:{srv.port}/index.html",
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 1800)
        a = np.asarray(im.convert("RGB"))
    colours = np.unique(a.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 50 and a.std() > 20  # text, tables and pictures, not an empty page


def test_report_works_from_file_url(chromium, report):
    """Opened straight from the folder (file://): the page and its relative links still resolve."""
    proc = _chromium(chromium, "--dump-dom", "--virtual-time-budget=3000", report.joinpath("index.html").as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    p = _Media()
    p.feed(proc.stdout)
    for _, src in p.media:
        assert (report / unquote(src)).is_file(), src
    assert "movies" in p.ids and "script" not in p.tags
