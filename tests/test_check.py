"""`spiking check`: NEST's capabilities and the test network plots; a clear line when NEST is broken."""

from PIL import Image

from conftest import run_cli


def test_check_draws_the_test_network(tmp_path):
    proc = run_cli("check", "--out", tmp_path / "chk", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "NEST 3." in proc.stderr and "MPI" in proc.stderr and "HDF5" in proc.stderr
    for name in ("test0.png", "test1.png"):
        with Image.open(tmp_path / "chk" / name) as im:
            assert im.size[0] >= 500 and im.size[1] >= 500
    # a divergent Gaussian projection from 16 sources: some, but not all, of the 16 x 81 pairs
    n = int(proc.stderr.split("built with ")[1].split()[0])
    assert 16 <= n < 16 * 81


def test_check_without_nest_says_so_in_one_line(tmp_path):
    fake = tmp_path / "fake" / "nest"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('libnestkernel.so: cannot open shared object file')\n")
    proc = run_cli("check", "--out", tmp_path / "chk", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "fake")})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "NEST is not usable" in lines[0] and "pip install nest-simulator" in lines[0]
