"""A sixth service in a handful of steps (docs/adding-a-service.md), proved.

In a scratch copy of the tree, a throwaway service — its contract (a tiny proto), its package and one topology
entry, nothing else — is served through the gateway over gRPC and REST by `python -m meshctl up` (what `make up`
runs): Envoy's routes, clusters and transcoder, the supervisor's replicas, the token check and the metrics
endpoint all follow from the topology and the descriptor set. Only what differs from the real tree is copied:
meshctl (its ROOT is where its files are), the topology and the descriptor set; the other services and meshkit
are imported from the real tree (the venv's .pth), which stays untouched.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from devkit.ports import free_offset
from meshctl import topology
from tests.support.rest import Rest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "shopmesh.greeting.v1.GreetingService"

PROTO = """\
syntax = "proto3";

package shopmesh.greeting.v1;

import "google/api/annotations.proto";

// Says hello: the throwaway sixth service of tests/e2e/test_sixth_service.py.
service GreetingService {
  // Greets the caller, naming the replica that answered and who Envoy says is calling.
  rpc Greet(GreetRequest) returns (GreetResponse) {
    option (google.api.http) = {post: "/v1/greetings:greet" body: "*"};
  }
}

// Whom to greet.
message GreetRequest {
  // A name.
  string name = 1;
}

// The greeting.
message GreetResponse {
  // Hello, the name, the replica and the caller.
  string message = 1;
}
"""

# The package: the rooms a service without state needs (docs/adding-a-service.md, step 2).
PACKAGE = {
    "__init__.py": '"""The greetings service (a throwaway)."""\n',
    "__main__.py": "from svc_greeting.server import main\n\nraise SystemExit(main())\n",
    "server.py": '''"""Composition root of the greetings service."""

import grpc
import sqlalchemy as sa
from shopmesh.greeting.v1 import greeting_service_pb2 as pb
from shopmesh.greeting.v1 import greeting_service_pb2_grpc as pb_grpc

from meshkit.cli import service_main
from meshkit.db import open_database
from meshkit.identity import identity_of
from meshkit.server import ServiceServer
from meshkit.settings import ServerSettings, env_help, load_server_settings

PREFIX, DEFAULT_PORT = "SVC_GREETING", 50600
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GreetingService"].full_name


class GreetingServicer(pb_grpc.GreetingServiceServicer):
    def __init__(self, replica: str) -> None:
        self._replica = replica

    def Greet(self, request: pb.GreetRequest, context: grpc.ServicerContext) -> pb.GreetResponse:
        caller = identity_of(context).user_id
        return pb.GreetResponse(message=f"Hello, {request.name}, from {self._replica} to {caller}")


def create_server(settings: ServerSettings, tracing=None) -> ServiceServer:
    db = open_database(settings.database_url, sa.MetaData(), [], settings.replica)
    servicer = GreetingServicer(settings.replica)
    return ServiceServer(
        settings,
        db=db,
        services=[SERVICE_NAME],
        register=lambda server: pb_grpc.add_GreetingServiceServicer_to_server(servicer, server),
        tracing=tracing,
    )


def main(argv=None) -> int:
    return service_main(
        "svc_greeting",
        "The greetings service.",
        env_help(PREFIX, DEFAULT_PORT),
        lambda: load_server_settings("greetings", PREFIX, DEFAULT_PORT),
        create_server,
        argv,
    )
''',
}

# Step 3: one topology entry.
TOPOLOGY_ENTRY = f"""
[services.greetings]
module = "svc_greeting"
env_prefix = "SVC_GREETING"
grpc_services = ["{SERVICE}"]
port = 50600
"""


def _protoc(tree: Path) -> descriptor_pb2.FileDescriptorSet:
    """Step 1: the contract's Python stubs into the scratch gen/python (grpcio-tools' protoc; the real gen/ is
    `make gen`'s and stays as it is) and the descriptor set: the real one plus the new file."""
    import grpc_tools
    from google.api import annotations_pb2

    proto = Path("shopmesh/greeting/v1/greeting_service.proto")
    (tree / "protos" / proto).parent.mkdir(parents=True)
    (tree / "protos" / proto).write_text(PROTO)
    (tree / "gen" / "python").mkdir(parents=True)
    new_set = tree / "build" / "greeting.binpb"
    new_set.parent.mkdir()
    includes = [
        tree / "protos",
        Path(annotations_pb2.__file__).parents[2],
        Path(grpc_tools.__file__).parent / "_proto",
    ]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", *(f"-I{i}" for i in includes),
         f"--python_out={tree / 'gen' / 'python'}", f"--grpc_python_out={tree / 'gen' / 'python'}",
         "--include_imports", f"--descriptor_set_out={new_set}", str(proto)],
        cwd=tree / "protos", check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    added = descriptor_pb2.FileDescriptorSet.FromString(new_set.read_bytes())
    merged = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "gen" / "descriptor.binpb").read_bytes())
    known = {f.name for f in merged.file}
    merged.file.extend(f for f in added.file if f.name not in known)
    (tree / "gen" / "descriptor.binpb").write_bytes(merged.SerializeToString())
    return added


def _scratch_tree(tmp_path: Path) -> tuple[Path, descriptor_pb2.FileDescriptorSet]:
    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "meshctl", tree / "meshctl", ignore=shutil.ignore_patterns("__pycache__"))
    # The files Envoy serves at /docs. `make gen` would regenerate the API descriptions with the new contract; the
    # committed ones do here (this test is about routing the new service, not about its documentation).
    for docs in ("docs", "openapi", "asyncapi"):
        shutil.copytree(ROOT / "gen" / docs, tree / "gen" / docs)
    (tree / "envoy").mkdir()
    (tree / "envoy" / "topology.toml").write_text(
        (ROOT / "envoy" / "topology.toml").read_text() + TOPOLOGY_ENTRY
    )
    package = tree / "svc_greeting"
    package.mkdir()
    for name, text in PACKAGE.items():
        (package / name).write_text(text)
    return tree, _protoc(tree)


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's output lines, read by a thread so a wait can keep its deadline; None at the end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@contextmanager
def _up(tree: Path, offset: int) -> Iterator[subprocess.Popen[str]]:
    """`make up`'s command in the scratch tree, one replica each, on SQLite and its own broker, until it stops."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_DATABASE_URL", "_SMTP_URL"))
        and k not in ("SHOPMESH_NATS_URL", "SHOPMESH_MAIL_DIR")
    }
    # The scratch gen/python holds only shopmesh.greeting; `shopmesh` is a namespace package, so the real
    # gen/python (the venv's .pth) still provides the other contracts.
    env["PYTHONPATH"] = str(tree / "gen" / "python")
    env["SHOPMESH_DATA_DIR"] = str(tree / "var" / "data")
    process = subprocess.Popen(
        [sys.executable, "-m", "meshctl", "up", "--run-dir", str(tree / "var"), "--port-offset", str(offset),
         "--replicas", "1"],
        cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines, seen = _lines(process), list[str]()
    deadline = time.monotonic() + 120
    try:
        while not seen or not seen[-1].startswith("shopmesh is up."):
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("meshctl up did not come up in 120 s:\n" + "".join(seen))
            if line is None:
                pytest.fail("meshctl up exited early:\n" + "".join(seen))
            seen.append(line)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _message_class(files: descriptor_pb2.FileDescriptorSet, name: str) -> Any:
    """A message class of the new contract in a private pool (the test process's own pool stays as it is)."""
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.AddSerializedFile(file.SerializeToString())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def _token(rest: Rest) -> tuple[str, str]:
    """A new account's id and access token, through the gateway."""
    email, password = f"greeted-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    created = rest.post("/v1/users", {"user": {"email": email, "display_name": "Ada"}, "password": password})
    assert created.status == 200, created.text
    login = rest.post("/v1/users:login", {"email": email, "password": password})
    assert login.status == 200, login.text
    return str(created.json["name"]).removeprefix("users/"), str(login.json["access_token"])


def test_a_service_added_by_its_contract_package_and_topology_entry_is_served_through_the_gateway(
    tmp_path: Path,
) -> None:
    tree, contract = _scratch_tree(tmp_path)
    topo = topology.load(tree / "envoy" / "topology.toml")
    offset = free_offset(topo.ports())
    gateway = f"127.0.0.1:{topo.gateway.public_port + offset}"
    greetings = topo.service("greetings")
    with _up(tree, offset):
        rest = Rest(f"http://{gateway}")
        user_id, token = _token(rest)

        # REST: the route, the transcoder and the token check came from the descriptor set and the topology.
        assert rest.post("/v1/greetings:greet", {"name": "Ada"}).status == 401
        greeted = rest.as_user(token).post("/v1/greetings:greet", {"name": "Ada"})
        assert greeted.status == 200, greeted.text
        assert greeted.json == {"message": f"Hello, Ada, from greetings-0 to {user_id}"}

        # gRPC, through the same listener.
        request, reply = (
            _message_class(contract, f"shopmesh.greeting.v1.{m}") for m in ("GreetRequest", "GreetResponse")
        )
        with grpc.insecure_channel(gateway) as channel:
            greet = channel.unary_unary(
                f"/{SERVICE}/Greet",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=reply.FromString,
            )
            answer = greet(request(name="Grace"), metadata=[("authorization", f"Bearer {token}")], timeout=10)
        assert answer.message == f"Hello, Grace, from greetings-0 to {user_id}"

        # Its metrics target (what `--monitoring`'s Prometheus and the chart scrape) counts those calls.
        metrics_port = greetings.port + offset + greetings.metrics_offset
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as page:
            text = page.read().decode()
        ok = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("grpc_server_handled_total{")
            and 'grpc_method="Greet"' in line
            and 'grpc_code="OK"' in line
        ]
        assert ok == [2.0], text
