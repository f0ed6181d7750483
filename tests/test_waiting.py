"""How the Brian2 program's OpenMP threads wait: spin on an idle machine, sleep on a busy one, the user's setting first."""

import subprocess
import sys
import time

import pytest

from spiking.engines.brian2.waiting import BUSY_CORES, SPIN_COUNT, other_busy_cores, wait_environment


def test_the_users_setting_wins():
    env = {"OMP_WAIT_POLICY": "ACTIVE", "PATH": "/bin"}
    assert wait_environment(env, busy=3.0) == {"OMP_WAIT_POLICY": "ACTIVE"}
    assert wait_environment({"GOMP_SPINCOUNT": "10"}, busy=0.0) == {"GOMP_SPINCOUNT": "10"}


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        (0.0, {"GOMP_SPINCOUNT": SPIN_COUNT}),
        (BUSY_CORES - 0.01, {"GOMP_SPINCOUNT": SPIN_COUNT}),
        (BUSY_CORES, {"OMP_WAIT_POLICY": "PASSIVE"}),
        (1.7, {"OMP_WAIT_POLICY": "PASSIVE"}),
        (None, {"OMP_WAIT_POLICY": "PASSIVE"}),
    ],
)
def test_idle_machines_spin_busy_or_unknown_ones_sleep(busy, expected, monkeypatch):
    monkeypatch.setattr("spiking.engines.brian2.waiting.other_busy_cores", lambda: busy)
    assert wait_environment({}) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_busy_process_is_seen_and_this_ones_own_work_is_not():
    # a child that keeps one core busy counts as about one core; the watching process itself sleeps
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 5\nwhile time.time() < t: pass"])
    try:
        time.sleep(0.3)
        busy = other_busy_cores(0.5)
    finally:
        child.kill()
        child.wait()
    assert busy is not None and 0.6 <= busy <= 2.5, busy
