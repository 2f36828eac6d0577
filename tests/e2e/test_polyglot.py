"""Clients in Go, TypeScript and Java, generated from the same contracts, buy through the real gateway.

Each example in examples/ is built with its own ecosystem's tool (go build; npm ci + tsc; mvn package,
which also builds gen/java) and then runs the purchase flow against the mesh over gRPC: create a user, log
in, create a product (with the admin token it is handed in SHOPMESH_ADMIN_TOKEN), order two, read the order
back, cancel it. Before ordering, each checks the request with its language's protovalidate library and
shows that a quantity of 0 is refused client-side. The test reads the services' databases to check that the
flow really happened. A language whose client fails to build or to buy fails the suite.

Builds are skipped when none of their inputs changed since the last successful one (a digest of the
inputs is kept beside the build output), so a warm rerun costs only the runs themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import grpc
import pytest
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb

from devkit.ports import free_port
from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import APPROVING_CARD, EXP_YEAR, Stubs
from tests.support.grpc_testing import assert_error, call_error, details

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GEN = ROOT / "gen"
BUILD_OUTPUT = {"node_modules", "dist", "target"}
BUILD_TIMEOUT = 600  # a cold Maven or npm cache downloads the clients' dependencies
RUN_TIMEOUT = 120

pytestmark = pytest.mark.e2e


def _digest(*roots: Path) -> str:
    """A digest of every file under `roots` (paths and contents), build output excluded."""
    h = hashlib.sha256()
    for root in roots:
        files: Iterable[Path] = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.is_file() and not BUILD_OUTPUT & set(path.relative_to(ROOT).parts):
                h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not on PATH: the {name} toolchain is needed to build an example client"
    return found


def _run(cmd: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, (
        f"{' '.join(cmd)} (in {cwd}) exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )
    return result


def _cached_build(stamp: Path, inputs: str, build: Callable[[], None], output: Path) -> None:
    if output.exists() and stamp.is_file() and stamp.read_text() == inputs:
        return
    stamp.unlink(missing_ok=True)
    build()
    assert output.exists(), f"the build did not produce {output}"
    stamp.write_text(inputs)


def build_go(scratch: Path) -> list[str]:
    """`go build` of examples/go, a module that requires shopmesh.dev/gen/go (replaced by ../../gen/go)."""
    src = EXAMPLES / "go"
    binary = scratch / "purchase"
    # Go's own build cache makes an unchanged rebuild cheap; -mod=readonly holds go.mod/go.sum as committed.
    _run(
        [_tool("go"), "build", "-mod=readonly", "-buildvcs=false", "-o", str(binary), "."],
        cwd=src,
        timeout=BUILD_TIMEOUT,
    )
    return [str(binary)]


def build_ts(scratch: Path) -> list[str]:
    """`npm ci` (gen/ts comes in as the @shopmesh/contracts package) and `tsc` of examples/ts."""
    src = EXAMPLES / "ts"
    npm = _tool("npm")
    _tool("node")

    def build() -> None:
        _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=src, timeout=BUILD_TIMEOUT)
        _run([npm, "run", "--silent", "build"], cwd=src, timeout=BUILD_TIMEOUT)

    entry = src / "dist" / "purchase.js"
    _cached_build(src / "dist" / ".inputs.sha256", _digest(src, GEN / "ts"), build, entry)
    return ["node", str(entry)]


def build_java(scratch: Path) -> list[str]:
    """`mvn package` of examples/java, a reactor of gen/java (dev.shopmesh:shopmesh-contracts) and the client."""
    src = EXAMPLES / "java"
    mvn = _tool("mvn")
    _tool("java")

    def build() -> None:
        _run(
            [mvn, "-B", "-q", "-Dstyle.color=never", "-f", "pom.xml", "package"],
            cwd=src,
            timeout=BUILD_TIMEOUT,
        )

    jar = src / "purchase" / "target" / "purchase.jar"
    _cached_build(src / "purchase" / "target" / ".inputs.sha256", _digest(src, GEN / "java"), build, jar)
    return ["java", "-jar", str(jar)]


BUILDERS: dict[str, Callable[[Path], list[str]]] = {"go": build_go, "ts": build_ts, "java": build_java}
EMAIL_PREFIX = {"go": "go-", "ts": "ts-", "java": "java-"}
QUANTITY = "order.items[0].quantity"  # the field each client zeroes in the copy it validates but never sends


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """(language, the command running its built client, which takes the gateway address as argument)."""
    language: str = request.param
    return language, BUILDERS[language](tmp_path_factory.mktemp(f"client-{language}"))


@pytest.fixture(scope="module")
def server_verdict(mesh: RunningMesh) -> dict[str, str]:
    """The order service's answer (bad field: message) to the request the clients check but never send."""
    account = Stubs(mesh.channel).signup()
    request = order_pb.CreateOrderRequest(
        request_id=str(uuid.uuid4()),
        order=order_pb.Order(items=[order_pb.OrderItem(product="products/0", quantity=0)]),
        payment=payment_pb.PaymentCard(
            card_number=APPROVING_CARD, exp_month=12, exp_year=EXP_YEAR, cvc="123"
        ),
    )
    error = call_error(account.api.orders.CreateOrder, request)
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={QUANTITY})
    return dict(details(error)["fields"])


def _summary(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if line.startswith("summary: ")]
    assert len(lines) == 1, f"expected one summary line in:\n{stdout}"
    return dict(json.loads(lines[0].removeprefix("summary: ")))


def _id(name: str, collection: str) -> str:
    prefix = f"{collection}/"
    assert name.startswith(prefix), name
    return name.removeprefix(prefix)


def _row(mesh: RunningMesh, service: str, query: str, **params: str) -> tuple[Any, ...]:
    rows = mesh.sql(service, query, **params)
    assert len(rows) == 1, f"{query} {params}: {rows}"
    return tuple(rows[0])


def _client_env(admin_token: str | None) -> dict[str, str]:
    """The environment without the developer's own gateway or token, plus `admin_token` if given."""
    env = {k: v for k, v in os.environ.items() if k not in {"SHOPMESH_GATEWAY", "SHOPMESH_ADMIN_TOKEN"}}
    if admin_token is not None:
        env["SHOPMESH_ADMIN_TOKEN"] = admin_token
    return env


def _run_client(
    command: list[str], gateway: str, admin_token: str | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, gateway],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=_client_env(admin_token),
        check=False,
    )


def test_client_buys_through_the_gateway(
    mesh: RunningMesh, client: tuple[str, list[str]], server_verdict: dict[str, str]
) -> None:
    language, command = client
    result = _run_client(command, mesh.endpoints.gateway, mesh.admin_token)
    assert result.returncode == 0, f"{language} client failed:\n{result.stdout}\n{result.stderr}"
    summary = _summary(result.stdout)
    assert summary["client"] == language
    assert (summary["status"], summary["total"]) == ("CANCELLED", "25.00 USD")

    # The contract's rule (quantity 1 to 1000), checked by the language's own protovalidate library on a
    # request that was never sent, finds what the service finds in the same request: one violation, on
    # the same field, in the same words.
    rejected = [line for line in result.stdout.splitlines() if line.startswith("client-side validation: ")]
    assert rejected == [f"client-side validation: {QUANTITY}: {server_verdict[QUANTITY]}"], result.stdout

    # The services' own books agree with what the client printed.
    user_id = _id(summary["user"], "users")
    order_id = _id(summary["order"], "orders")
    product_id = _id(summary["product"], "products")
    payment_id = _id(summary["payment"], "payments")
    (email,) = _row(mesh, "users", "SELECT email FROM users WHERE id = :id", id=user_id)
    assert email.startswith(EMAIL_PREFIX[language])
    assert _row(
        mesh,
        "orders",
        "SELECT user_id, status, total_currency, total_units, total_nanos, payment_id FROM orders WHERE id = :id",
        id=order_id,
    ) == (user_id, "CANCELLED", "USD", 25, 0, payment_id)
    items = mesh.sql(
        "orders", "SELECT product_id, quantity FROM order_items WHERE order_id = :id", id=order_id
    )
    assert [tuple(row) for row in items] == [(product_id, 2)]
    assert _row(mesh, "payments", "SELECT status FROM payments WHERE id = :id", id=payment_id) == (
        "REFUNDED",
    )
    # Two reserved by the order, given back by the cancellation.
    assert _row(mesh, "products", "SELECT stock FROM products WHERE id = :id", id=product_id) == (10,)


def test_client_exits_non_zero_when_the_gateway_is_unreachable(client: tuple[str, list[str]]) -> None:
    language, command = client
    # A token that is never checked: the client must get as far as dialling the gateway.
    result = _run_client(command, f"127.0.0.1:{free_port()}", "not-a-real-token")
    assert result.returncode != 0, f"{language} client succeeded without a gateway:\n{result.stdout}"
    assert "purchase failed" in result.stderr
    assert "SHOPMESH_ADMIN_TOKEN" not in result.stderr, result.stderr
    assert "summary: " not in result.stdout


def test_client_refuses_to_run_without_an_admin_token(client: tuple[str, list[str]]) -> None:
    language, command = client
    # No gateway either: the check comes before any call.
    result = _run_client(command, f"127.0.0.1:{free_port()}", None)
    assert result.returncode != 0, f"{language} client succeeded without an admin token:\n{result.stdout}"
    assert "purchase failed" in result.stderr and "SHOPMESH_ADMIN_TOKEN" in result.stderr, result.stderr
    assert "summary: " not in result.stdout
