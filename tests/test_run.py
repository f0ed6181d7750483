"""End to end: `spiking run` on real NEST, its run folder, reproducibility, the stimulus reaching V1, bad input."""

import tomllib
from pathlib import Path

import pytest

from conftest import run_cli, tiny
from spiking.config import from_mapping, to_toml


def _write_config(path: Path, data: dict) -> Path:
    path.write_text(to_toml(from_mapping(data)))
    return path


def _run(tmp_path, data, *extra, name="c.toml"):
    cfg = _write_config(
        tmp_path / name, {**data, "run": {**data.get("run", {}), "output_dir": str(tmp_path / "output")}}
    )
    proc = run_cli("run", cfg, "--no-progress", *extra, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    return folder, proc


def test_preview_writes_pngs_without_a_network(tmp_path):
    from PIL import Image

    proc = run_cli("preview", "--preset", "small", "--out", tmp_path / "prev", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "prev").glob("*.png"))
    assert names == sorted(["preview.png"] + [f"pattern{i}-{k}.png" for i in (0, 1) for k in ("on", "off", "stimulus")])
    with Image.open(tmp_path / "prev" / "pattern0-on.png") as im:
        assert im.size[0] == im.size[1] >= 32


def test_config_command_prints_resolved_toml(tmp_path):
    proc = run_cli("config", "--defaults")
    assert proc.returncode == 0
    data = tomllib.loads(proc.stdout)
    assert data["network"]["hypercolumns"] == 9 and "# [ms]" in proc.stdout
    proc = run_cli("config", "--preset", "small", "--set", "run.seed=4")
    assert tomllib.loads(proc.stdout)["run"]["seed"] == 4


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "network.hypercolumn=4"], "network.hypercolumn: unknown key; valid keys here"),
        (["--set", "network.hypercolumns=8"], "network.hypercolumns: must be a square number"),
        (["--set", "network.hypercolumns='four'"], "network.hypercolumns: must be an integer, got 'four'"),
        (["--set", "retina.max_rate=-1"], "retina.max_rate: must be >= 0, got -1"),
        (
            ["--set", "network.exposed_hypercolumns=2"],
            "network.exposed_hypercolumns: must be <= network.hypercolumns (1), got 2",
        ),
        (["--set", "stimulus.patterns=['missing.png']"], "missing.png: image not found"),
        (["--set", "stimulus.patterns=['bad.png']"], "bad.png: image cannot be read"),
        (["nofile.toml"], "nofile.toml: config file not found"),
        (["--preset", "tiny"], "--preset: unknown preset 'tiny'; available: small, default"),
    ],
)
def test_bad_input_one_line_exit_2_no_run(tmp_path, args, words):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    proc = run_cli(
        "run",
        "--preset",
        "small",
        "--no-progress",
        "--set",
        f"run.output_dir='{tmp_path / 'out'}'",
        *args,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spiking: error: ") and words in lines[0], proc.stderr
    assert not any((tmp_path / "out").rglob("manifest.json"))


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli(
        "run", "--preset", "small", "--no-progress", "--set", f"run.output_dir='{blocker / 'sub'}'", cwd=tmp_path
    )
    assert proc.returncode == 2 and "output folder cannot be created" in proc.stderr and "Traceback" not in proc.stderr


def test_a_run_that_ends_failed_exits_1_in_one_line(tmp_path, monkeypatch, capsys):
    """A run whose folder ends ``failed`` without raising (its spike file could not be closed) exits 1, not 0."""
    from spiking.cli import main
    from spiking.run import orchestrate

    folder = tmp_path / "run"
    failed = orchestrate.RunResult(folder, "failed", {"status": "failed", "error": "OSError: cannot close\nmore"})
    monkeypatch.setattr(orchestrate, "run", lambda *a, **k: failed)
    cfg = _write_config(tmp_path / "c.toml", tiny())
    assert main(["run", str(cfg), "--no-progress", "--no-render"]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == str(folder)
    assert err.splitlines() == [
        f"spiking: error: the run failed: OSError: cannot close; {folder}/manifest.json says failed"
    ]
