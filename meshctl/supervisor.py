"""Process supervision for the local mesh: start children, copy their output, restart the ones that exit.

A child that exits on its own (a crash, a signal from outside) is started again after a back-off: 0.5 s,
doubling to 30 s, back to 0.5 s once it has run for a minute. One that was stopped through `kill()` stays
down until `restart()`: tests stop processes on purpose. Each change is written to RUN_DIR/supervisor.json
(atomically), which `meshctl status` reads.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from meshctl.probes import MeshError, Probe, accepts, grpc_serving
from meshctl.process import Backoff, Child, Spec, popen
from meshctl.supervisor_state import STATE_FILE, duration, pid_alive, read_state, write_state

# What callers import from here: the supervisor and the pieces it is built from.
__all__ = [
    "STATE_FILE", "Backoff", "Child", "MeshError", "Probe", "Spec", "Supervisor",
    "accepts", "duration", "grpc_serving", "pid_alive", "read_state",
]  # fmt: skip

CRASH_LOOP = 3
"""Exits in a row (none after a healthy minute) from which each exit also shows the process's last output."""


@dataclass
class _Slot:
    spec: Spec
    child: Child
    backoff: Backoff
    restarts: int = 0
    held: bool = False
    """Stopped through `kill()`: left down until `restart()`."""
    due: float | None = None
    """When an exited process is started again (monotonic)."""
    last_exit: str = ""


class Supervisor:
    """Runs children, pumps their output to RUN_DIR/logs/NAME.log (and `echo`), restarts those that exit."""

    def __init__(
        self,
        run_dir: Path,
        *,
        echo: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None,
        render_line: Callable[[str], str] = lambda line: line,
        backoff: Callable[[], Backoff] = Backoff,
        poll: float = 0.1,
    ) -> None:
        """`echo` gets every output line, prefixed; `notify` each of the supervisor's own reports (a restart is
        one line), which also go to RUN_DIR/logs/supervisor.log and `reports`."""
        self.run_dir, self.echo, self.notify, self.render_line = run_dir, echo, notify, render_line
        self.state_path = run_dir / STATE_FILE
        self.reports: deque[str] = deque(maxlen=1000)
        self._new_backoff, self._poll = backoff, poll
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started_at = time.time()
        # Every child is forked from this one thread: the kernel delivers the parent-death signal when the
        # *thread* that forked a child exits, so forking from short-lived threads (a test's chaos thread
        # restarting a replica) would get those children killed when that thread ends.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")

    @property
    def children(self) -> list[Child]:
        with self._lock:
            return [slot.child for slot in self._slots.values()]

    def child(self, name: str) -> Child:
        return self._slot(name).child

    def spec(self, name: str) -> Spec:
        return self._slot(name).spec

    def restarts(self, name: str) -> int:
        return self._slot(name).restarts

    def _slot(self, name: str) -> _Slot:
        try:
            return self._slots[name]
        except KeyError:
            raise MeshError(f"no process named {name!r}") from None

    # -- starting -----------------------------------------------------------------------------------------

    def spawn(self, spec: Spec) -> Child:
        with self._lock:
            if self._stopping.is_set():
                raise MeshError(f"not starting {spec.name}: the mesh is stopping")
            child = self._run(spec)
            if (slot := self._slots.get(spec.name)) is None:
                self._slots[spec.name] = _Slot(spec, child, self._new_backoff())
            else:
                slot.spec, slot.child, slot.held, slot.due = spec, child, False, None
                slot.restarts += 1
                slot.backoff.started()
            self._write_state()
        return child

    def _run(self, spec: Spec) -> Child:
        log_path = self.run_dir / "logs" / f"{spec.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        process = self._spawner.submit(popen, spec).result()
        child = Child(spec.name, process, log_path, render=self.render_line)
        assert process.stdout is not None
        child.pump = threading.Thread(target=self._pump, args=(child, process.stdout), daemon=True)
        child.pump.start()
        return child

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        """Copies a child's output to its log file and, prefixed and rendered, to the console if there is one
        (tests and the bench have none: lines are then rendered only if a report shows them)."""
        with stream, child.log_path.open("ab") as log:
            for raw in iter(stream.readline, b""):
                log.write(raw)
                log.flush()
                text = raw.decode(errors="replace").rstrip()
                child.tail.append(text)
                if self.echo:
                    for shown in self.render_line(text).splitlines() or [""]:
                        self.echo(f"{child.name:>11} | {shown}")

    def check(self) -> None:
        """While the mesh comes up (before `watch`), an exit is fatal: raises with the process's last output."""
        for child in self.children:
            if not child.alive():
                time.sleep(0.2)  # let the pump thread collect the last lines
                raise MeshError(child.describe_exit())

    # -- supervising --------------------------------------------------------------------------------------

    def watch(self) -> None:
        """From now on, a process that exits on its own is started again."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self._poll):
            with self._lock:
                if self._stopping.is_set():
                    return
                for slot in list(self._slots.values()):
                    if slot.held:
                        continue
                    if slot.due is None and not slot.child.alive():
                        self._exited(slot)
                    elif slot.due is not None and time.monotonic() >= slot.due:
                        try:
                            self.spawn(slot.spec)
                        except OSError as exc:  # cannot even fork or exec: try again later
                            self._report(f"{slot.spec.name} could not be started: {exc}")
                            slot.due = time.monotonic() + slot.backoff.exited()

    def _exited(self, slot: _Slot) -> None:
        child = slot.child
        if child.pump is not None:
            child.pump.join(timeout=0.5)  # its last lines, for the report
        uptime = time.monotonic() - child.started
        delay = slot.backoff.exited()
        slot.due, slot.last_exit = time.monotonic() + delay, child.how()
        self._report(
            f"{child.name} (pid {child.process.pid}) exited with {child.how()} after {duration(uptime)}; "
            f"restart attempt {slot.backoff.attempt} in {delay:g} s"
        )
        if slot.backoff.attempt >= CRASH_LOOP:
            lines = child.last_output() or "    (no output)"
            self._report(
                f"{child.name} KEEPS CRASHING: {slot.backoff.attempt} exits in a row without a healthy "
                f"minute; the rest of the mesh keeps serving. Its last output:\n{lines}"
            )
        self._write_state()

    def _report(self, text: str) -> None:
        self.reports.append(text)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            with (self.run_dir / "logs" / "supervisor.log").open("a") as log:
                log.write(f"{stamp} {text}\n")
        except OSError:
            pass  # the console still has it
        if self.notify:
            self.notify(text)

    # -- stopping on purpose ------------------------------------------------------------------------------

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Stops one process and keeps it down until `restart(name)`."""
        with self._lock:
            slot = self._slot(name)
            slot.held, slot.due = True, None
            child = slot.child
            if child.alive():
                child.process.send_signal(signum)
        child.process.wait()
        if child.pump is not None:
            child.pump.join(timeout=5)
        with self._lock:
            slot.last_exit = f"{child.how()}, on request"
            self._report(f"{name} stopped on request ({child.how()}); it stays down until restarted")
            self._write_state()

    def restart(self, name: str) -> Child:
        """Starts a process stopped by `kill` (or one waiting for its back-off) again, now."""
        with self._lock:
            slot = self._slot(name)
            if slot.child.alive():
                raise MeshError(f"{name} is still running")
            return self.spawn(slot.spec)

    def stop(self, grace: float = 10.0, last: Iterable[str] = ()) -> None:
        """SIGTERM to everyone, SIGKILL to whoever outlives `grace`; the names in `last` go last, in order."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            children = self.children
        last = list(last)
        waves = [
            [c for c in children if c.name not in last],
            *([c for c in children if c.name == n] for n in last),
        ]
        for wave in waves:
            for child in wave:
                if child.alive():
                    child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for child in wave:
                try:
                    child.process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
                if child.pump is not None:
                    child.pump.join(timeout=5)  # the last lines reach the log before we return
        self._spawner.shutdown(wait=False)
        self.state_path.unlink(missing_ok=True)

    # -- state --------------------------------------------------------------------------------------------

    def _write_state(self) -> None:
        now_mono, now = time.monotonic(), time.time()
        processes = []
        for slot in self._slots.values():
            child = slot.child
            alive = child.alive()
            state = "running" if alive else "stopped" if slot.held else "restarting"
            processes.append(
                {
                    "name": slot.spec.name,
                    "pid": child.process.pid,
                    "state": state,
                    "started_at": child.started_at,
                    "restarts": slot.restarts,
                    "last_exit": slot.last_exit,
                    "restart_at": now + (slot.due - now_mono) if slot.due is not None else None,
                    "port": slot.spec.port,
                    "probe": asdict(slot.spec.probe) if slot.spec.probe else None,
                }
            )
        write_state(self.run_dir, self._started_at, processes)
