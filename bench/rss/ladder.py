"""The import ladder: in a fresh interpreter per step, RSS after importing each group of modules on top of the
previous ones, so each row is what that group adds (what an idle replica pays for having imported it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from meshctl.topology import ROOT

LADDER: tuple[tuple[str, str], ...] = (
    ("interpreter (python -c pass)", ""),
    (
        "stdlib: asyncio, ssl, logging, json, concurrent",
        "import asyncio, ssl, logging, json, concurrent.futures",
    ),
    ("grpc", "import grpc"),
    ("protobuf + google.api/rpc pb2", "import google.protobuf.descriptor_pb2, google.api.annotations_pb2"),
    (
        "shopmesh pb2 (4 APIs + events)",
        "import shopmesh.user.v1.user_service_pb2_grpc, shopmesh.product.v1.product_service_pb2_grpc, "
        "shopmesh.order.v1.order_service_pb2_grpc, shopmesh.payment.v1.payment_service_pb2_grpc",
    ),
    ("grpc_health", "import grpc_health.v1.health"),
    ("grpc_reflection", "import grpc_reflection.v1alpha.reflection"),
    ("sqlalchemy (core)", "import sqlalchemy"),
    ("sqlalchemy sqlite dialect", "import sqlalchemy.dialects.sqlite"),
    ("psycopg + postgresql dialect", "import psycopg, sqlalchemy.dialects.postgresql.psycopg"),
    ("opentelemetry api", "import opentelemetry.trace, opentelemetry.propagate"),
    ("opentelemetry sdk", "import opentelemetry.sdk.trace, opentelemetry.sdk.trace.export"),
    (
        "otlp exporter (grpc): with the first spans",
        "import opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    ),
    ("instrumentation-grpc", "import opentelemetry.instrumentation.grpc"),
    ("prometheus_client", "import prometheus_client"),
    ("nats-py", "import nats, nats.js"),
    ("meshkit (server, calls, events)", "import meshkit.server, meshkit.cli"),
    ("svc_product", "import svc_product.server"),
    ("svc_order", "import svc_order.server"),
    ("svc_payment", "import svc_payment.server"),
    ("svc_notification", "import svc_notification.server"),
    ("svc_user (argon2, jwt, cryptography)", "import svc_user.server"),
)
"""(label, statement): each step imports everything of the steps before it, then this."""


_PROBE = (
    "import sys\n"
    "{imports}\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'):\n"
    "        print(int(line.split()[1]) * 1024 / 1e6)\n"
)


def ladder(
    env: Mapping[str, str], steps: Sequence[tuple[str, str]] = LADDER, db: str = "sqlite"
) -> list[tuple[str, float]]:
    """(label, MB that step adds), each step measured in a fresh interpreter with every previous import done
    (the median of three). Only the dialect of `db` is imported, as in the replicas."""
    rows: list[tuple[str, float]] = []
    done: list[str] = []
    previous = 0.0
    child_env = {**os.environ, **env}
    for label, statement in steps:
        if ("psycopg" in statement) != (db == "postgresql") and "dialects" in statement:
            continue  # each database loads its own dialect only
        if statement:
            done.append(statement)
        samples = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", _PROBE.format(imports="\n".join(done))],
                env=child_env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(float(out.stdout.split()[-1]))
        total = sorted(samples)[1]
        rows.append((label, total - previous))
        previous = total
    rows.append(("total", previous))
    return rows
