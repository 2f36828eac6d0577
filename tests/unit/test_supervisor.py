"""The local supervisor: its restart back-off, what it does with real (tiny) processes that exit, and the
launcher's reuse of a rendered Envoy config."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from meshctl import topology
from meshctl.launcher import Mesh
from meshctl.supervisor import STATE_FILE, Backoff, MeshError, Spec, Supervisor, read_state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_from_half_a_second_to_thirty_and_a_healthy_minute_resets_it() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock)
    delays = []
    for _ in range(9):  # crashes at once, every time
        delays.append(backoff.exited())
        clock.now += delays[-1]
        backoff.started()
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.attempt == 9

    clock.now += 59.9  # not quite a healthy minute: still backing off
    assert backoff.exited() == 30
    backoff.started()
    clock.now += 60  # a minute up: the earlier exits are forgiven
    assert backoff.exited() == 0.5
    assert backoff.attempt == 1
    clock.now += 0.5
    backoff.started()
    assert backoff.exited() == 1


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


SLEEPER = _python("import time; print('up', flush=True); time.sleep(120)")


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    fast = Supervisor(tmp_path, backoff=lambda: Backoff(initial=0.05, ceiling=0.2), poll=0.02)
    try:
        yield fast
    finally:
        fast.stop(grace=2)


def _state(run_dir: Path) -> dict[str, dict[str, object]]:
    return {p["name"]: p for p in json.loads((run_dir / STATE_FILE).read_text())["processes"]}


def test_an_exit_from_outside_is_restarted_in_one_line_and_a_kill_on_purpose_is_not(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    first = supervisor.spawn(Spec("sleeper", SLEEPER, dict(os.environ), port=1234))
    other = supervisor.spawn(Spec("bystander", SLEEPER, dict(os.environ)))
    supervisor.watch()
    _until(lambda: "up" in first.tail)
    os.kill(first.process.pid, signal.SIGKILL)
    _until(lambda: supervisor.child("sleeper").process.pid != first.process.pid)
    assert supervisor.child("sleeper").alive() and supervisor.restarts("sleeper") == 1
    assert list(supervisor.reports) == [
        f"sleeper (pid {first.process.pid}) exited with signal SIGKILL after "
        f"{supervisor.reports[0].split(' after ')[1].split(';')[0]}; restart attempt 1 in 0.05 s"
    ]
    state = _state(tmp_path)
    assert state["sleeper"]["restarts"] == 1 and state["sleeper"]["last_exit"] == "signal SIGKILL"
    assert state["sleeper"]["pid"] == supervisor.child("sleeper").process.pid
    assert state["sleeper"]["port"] == 1234 and state["sleeper"]["state"] == "running"
    assert read_state(tmp_path)["pid"] == os.getpid()

    _until(lambda: "up" in supervisor.child("sleeper").tail)
    supervisor.kill("sleeper")  # on purpose: stays down until restarted
    time.sleep(0.3)
    assert not supervisor.child("sleeper").alive()
    assert _state(tmp_path)["sleeper"]["state"] == "stopped"
    supervisor.restart("sleeper")
    assert supervisor.child("sleeper").alive() and supervisor.restarts("sleeper") == 2
    with pytest.raises(MeshError, match="still running"):
        supervisor.restart("sleeper")
    assert supervisor.child("bystander") is other and other.alive()
    _until(lambda: "up" in supervisor.child("sleeper").tail)
    assert (tmp_path / "logs" / "sleeper.log").read_text().count("up\n") == 3


def test_a_crash_loop_backs_off_and_is_reported_with_its_last_output(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    supervisor.spawn(
        Spec("crasher", _python("print('cannot open the frobnicator'); raise SystemExit(3)"), {})
    )
    bystander = supervisor.spawn(Spec("bystander", SLEEPER, dict(os.environ)))
    supervisor.watch()
    _until(lambda: supervisor.restarts("crasher") >= 4)
    restarts = [r for r in supervisor.reports if r.startswith("crasher (pid")]
    assert [r.rsplit("restart ", 1)[1] for r in restarts[:4]] == [
        "attempt 1 in 0.05 s",
        "attempt 2 in 0.1 s",
        "attempt 3 in 0.2 s",
        "attempt 4 in 0.2 s",
    ]
    assert all("exited with status 3" in r and "\n" not in r for r in restarts)
    loud = [r for r in supervisor.reports if "KEEPS CRASHING" in r]
    assert loud and "3 exits in a row" in loud[0] and "cannot open the frobnicator" in loud[0]
    assert bystander.alive() and supervisor.child("bystander") is bystander
    supervisor.stop(grace=2)
    assert not (tmp_path / STATE_FILE).exists()
    with pytest.raises(MeshError, match="no mesh is running"):
        read_state(tmp_path)


def test_a_state_file_left_by_a_dead_supervisor_is_no_running_mesh(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text(json.dumps({"pid": 2**22 + 1, "processes": []}))
    with pytest.raises(MeshError, match=r"supervisor \(pid 4194305\) is gone"):
        read_state(tmp_path)


def test_a_second_run_with_the_same_inputs_keeps_the_rendered_envoy_config(tmp_path: Path) -> None:
    """Rendering takes a second or more of CPU from the replicas starting beside it: `make up` again reuses it."""
    topo = topology.load()
    first = Mesh(topo, tmp_path, env={}).write_envoy_config()
    rendered = first.stat().st_mtime_ns
    assert Mesh(topo, tmp_path, env={}).write_envoy_config().stat().st_mtime_ns == rendered
    shifted = Mesh(topo.shifted(100), tmp_path, env={}).write_envoy_config()  # other inputs: rendered again
    assert str(topo.gateway.public_port + 100) in shifted.read_text()
