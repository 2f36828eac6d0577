"""The image the cluster's pods run, built from the unmodified Dockerfile by tools/build-image.sh (podman on a
debootstrap base; cached, so a warm run builds nothing) and run the way the chart runs it: read-only root
filesystem with an empty /tmp, uid 10001, every capability dropped, and no network at all.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from meshctl.kubernetes import IMAGE_GEN
from meshctl.topology import load
from tests.cluster.conftest import CHART, ROOT

# A cold build (Debian packages, debootstrap, pip in the build) takes minutes; the first test waits for it.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

BUILD = ROOT / "tools" / "build-image.sh"
# build-image.sh configures podman only through the containers.conf it writes here (CONTAINERS_CONF).
CONTAINERS_CONF = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shopmesh/images/containers.conf"
)
# The chart's pods: runAsUser/runAsGroup 10001, readOnlyRootFilesystem, an emptyDir on /tmp, capabilities dropped.
RUN_AS_CHART = [
    "--rm",
    "--network=none",
    "--user=10001:10001",
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs=/tmp",
    "--cap-drop=all",
    "--security-opt=no-new-privileges",
]
MODULES = [s.module for s in load().services]


def podman_command() -> list[str]:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    return [*sudo, "env", f"CONTAINERS_CONF={CONTAINERS_CONF}", "podman"]


@pytest.fixture(scope="module")
def image() -> str:
    """The image reference; build-image.sh installs podman on first use and builds only what changed."""
    proc = subprocess.run([str(BUILD)], capture_output=True, text=True, cwd=ROOT, timeout=1700)
    assert proc.returncode == 0, f"tools/build-image.sh failed:\n{proc.stderr[-4000:]}"
    return proc.stdout.strip().splitlines()[-1]


def run(image: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*podman_command(), "run", *RUN_AS_CHART, image, *command],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_image_is_the_one_of_this_checkout(image: str) -> None:
    assert image.startswith("localhost/shopmesh:")
    fresh = subprocess.run([str(BUILD), "--fresh"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert fresh.returncode == 0, fresh.stderr


@pytest.mark.parametrize("module", [*MODULES, "meshctl", "meshctl.kubernetes"])
def test_every_command_of_the_chart_starts(image: str, module: str) -> None:
    proc = run(image, "python", "-m", module, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


def test_envoy_is_in_the_image(image: str) -> None:
    proc = run(image, "envoy", "--version")
    assert proc.returncode == 0, proc.stderr
    assert "envoy" in proc.stdout.lower()


def test_it_runs_unprivileged_on_a_read_only_root(image: str) -> None:
    proc = run(image, "sh", "-c", "id -u; id -g; touch /app/x 2>&1 || echo refused; touch /tmp/x && echo tmp")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n", 2)[:2] == ["10001", "10001"]
    assert "Read-only file system" in proc.stdout and "refused" in proc.stdout
    assert proc.stdout.rstrip().endswith("tmp")


def test_the_files_the_chart_envoy_reads_are_in_the_image(image: str) -> None:
    """/etc/envoy is the chart's ConfigMap; the /docs files it names live in the image (IMAGE_GEN)."""

    def paths(obj: object) -> set[str]:
        if isinstance(obj, dict):
            return set().union(*(paths(v) for v in obj.values()))
        if isinstance(obj, list):
            return set().union(*(paths(v) for v in obj))
        return {obj} if isinstance(obj, str) and obj.startswith(f"{IMAGE_GEN}/") else set()

    wanted = sorted(paths(json.loads((CHART / "files" / "envoy.json").read_text())))
    assert wanted, f"the chart's Envoy config names no file under {IMAGE_GEN}"
    proc = run(image, "sh", "-c", 'for f; do [ -s "$f" ] || echo "missing: $f"; done', "sh", *wanted)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
