"""One supervised process: what to run (`Spec`), one run of it and the tail of its output (`Child`), and how
long to wait before starting it again after an exit (`Backoff`)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshctl.probes import Probe
from meshctl.topology import ROOT

# Children get SIGTERM if the launcher dies, so nothing is left behind. util-linux's setpriv sets that up
# between fork and exec; a Python preexec_fn could do it too, but it makes CPython run at-fork handlers in the
# child, and grpcio's abort the child when the parent has live channels (a test process driving the mesh).
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


class Backoff:
    """How long to wait before starting an exited process again: `initial`, doubling up to `ceiling`; a run
    of `healthy_after` seconds or more forgives the earlier exits."""

    def __init__(
        self,
        initial: float = 0.5,
        ceiling: float = 30.0,
        healthy_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial, self.ceiling, self.healthy_after, self.clock = initial, ceiling, healthy_after, clock
        self.attempt = 0
        """Exits in a row, counting the last one."""
        self._since = clock()

    def started(self) -> None:
        self._since = self.clock()

    def exited(self) -> float:
        """Records an exit; returns the delay before the next start."""
        if self.clock() - self._since >= self.healthy_after:
            self.attempt = 0
        self.attempt += 1
        return float(min(self.initial * 2 ** (self.attempt - 1), self.ceiling))


@dataclass(frozen=True)
class Spec:
    """What to run as one supervised process."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    port: int = 0
    """Where it serves (shown by `meshctl status`)."""
    probe: Probe | None = None


@dataclass
class Child:
    """One run of a supervised process and the tail of its output."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    """Its last lines as written; rendered (`render`) only when someone reads them."""
    render: Callable[[str], str] = field(default=lambda line: line)
    pump: threading.Thread | None = None
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)

    def alive(self) -> bool:
        return self.process.poll() is None

    def how(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"status {code}"

    def last_output(self) -> str:
        """Its last lines, rendered and indented (for a report)."""
        shown = [text for raw in list(self.tail) for text in (self.render(raw).splitlines() or [""])]
        return "\n".join(f"    {line}" for line in shown[-40:])

    def describe_exit(self) -> str:
        return f"{self.name} exited with {self.how()}; its last output:\n{self.last_output()}"


def popen(spec: Spec) -> subprocess.Popen[bytes]:
    """Starts `spec` from the repository root, its output on one pipe (stdout and stderr)."""
    return subprocess.Popen(
        [*_DIE_WITH_PARENT, *spec.argv],
        cwd=ROOT,
        env=dict(spec.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the launcher only; it stops children in order
    )
