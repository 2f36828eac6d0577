"""Runs the purchase walkthrough `make up` and `make cluster` print (meshctl.cli.purchase), as printed."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_walkthrough(output: str, env: Mapping[str, str] | None = None) -> str:
    """Both printed walkthroughs, run as printed in one shell: a confirmed order read back and cancelled over
    REST, then a second order placed and read over gRPC with the same token (`env`: the shell's environment,
    e.g. KUBECONFIG for the cluster's kubectl). Returns their output."""
    rest_block = output.split("A purchase over REST (curl)")[1].split("The same over gRPC")[0]
    grpc_block = output.split("The same over gRPC (grpcurl):\n")[1].split("\n\n")[0]
    lines = [line.strip() for line in (rest_block.splitlines()[1:] + grpc_block.splitlines()) if line.strip()]
    script = "set -e\n" + "\n".join(lines[:7]) + '\necho "ORDER=$ORDER"\n' + "\n".join(lines[7:]) + "\n"
    walk = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180, env=env
    )
    assert walk.returncode == 0, walk.stderr
    assert re.search(r"ORDER=orders/[0-9a-f]{32}", walk.stdout), walk.stdout
    assert '"status":"CONFIRMED"' in walk.stdout and '"status":"CANCELLED"' in walk.stdout
    assert "now has the roles: admin" in walk.stdout
    assert "shopmesh.order.v1.OrderService" in walk.stdout  # grpcurl list
    # grpcurl's CreateOrder confirms a second order; its GetOrder reads the first, cancelled over REST.
    assert '"status": "CONFIRMED"' in walk.stdout and '"status": "CANCELLED"' in walk.stdout, walk.stdout
    return walk.stdout
