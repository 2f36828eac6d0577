"""RUN_DIR/supervisor.json: what a running supervisor writes after each change and `meshctl status` reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from meshctl.probes import MeshError

STATE_FILE = "supervisor.json"


def write_state(run_dir: Path, started_at: float, processes: list[dict[str, Any]]) -> None:
    """Replaces the file in one rename, so a reader never sees half of it."""
    path = run_dir / STATE_FILE
    mesh = {"pid": os.getpid(), "started_at": started_at, "processes": processes}
    scratch = path.with_name(f".{STATE_FILE}.{os.getpid()}")
    scratch.write_text(json.dumps(mesh, indent=1))
    os.replace(scratch, path)


def read_state(run_dir: Path) -> dict[str, Any]:
    """The state a running supervisor wrote; MeshError naming why when no mesh runs from `run_dir`."""
    path = run_dir / STATE_FILE
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise MeshError(f"no mesh is running from {run_dir} (no {path}); `make up` starts one") from None
    except ValueError as exc:
        raise MeshError(f"{path} is not a supervisor's state: {exc}") from None
    if not pid_alive(int(state.get("pid", 0))):
        raise MeshError(
            f"no mesh is running from {run_dir}: its supervisor (pid {state.get('pid')}) is gone "
            f"without cleaning up {path}; `make up` starts one"
        )
    return state


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
