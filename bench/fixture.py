"""The benchmark's yardstick: an empty unary RPC on a bare grpcio server.

`bench.v1.EmptyService/Call` takes and returns `google.protobuf.Empty` and does nothing else: no interceptors,
no database, no logging. It runs the way the services run (a synchronous grpcio server with the services'
thread pool and server options, both from meshkit.settings) so that the only difference to a real RPC is the
work the real RPC does.

The benchmark runs it as one more service of the mesh (two replicas, its own cluster and a public route rendered
by meshctl from a descriptor set that adds this file to the contracts, see `write_descriptor_set`), so "through
Envoy" means exactly the filters, balancing and policies every public RPC goes through. It is not part of the
product: nothing outside bench/ knows it.

Run as `python -m bench.fixture` with BENCH_HOST / BENCH_PORT (how meshctl's launcher configures a replica).
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent import futures
from pathlib import Path

import grpc
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, empty_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from meshkit.settings import DEFAULT_WORKERS, GRPC_SERVER_OPTIONS

PACKAGE = "bench.v1"
SERVICE = f"{PACKAGE}.EmptyService"
METHOD = "Call"
FULL_METHOD = f"{SERVICE}/{METHOD}"
"""`package.Service/Method`, as the topology's open_rpcs and meshctl's routes name RPCs."""
GHZ_CALL = f"{SERVICE}.{METHOD}"
REST_PATH = "/v1/bench:empty"
ENV_PREFIX = "BENCH"
WORKERS = DEFAULT_WORKERS
"""Threads serving RPCs: the services' default (SVC_*_WORKERS unset)."""


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """bench/v1/empty.proto, built in code (no protoc at run time), with a google.api.http route."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="bench/v1/empty.proto",
        package=PACKAGE,
        syntax="proto3",
        dependency=["google/api/annotations.proto", "google/protobuf/empty.proto"],
    )
    service = proto.service.add(name=SERVICE.rsplit(".", 1)[1])
    method = service.method.add(
        name=METHOD, input_type=".google.protobuf.Empty", output_type=".google.protobuf.Empty"
    )
    rule = method.options.Extensions[annotations_pb2.http]
    rule.post = REST_PATH
    rule.body = "*"
    return proto


def write_descriptor_set(contracts: Path, out: Path) -> Path:
    """The contracts' descriptor set (gen/descriptor.binpb) plus the empty service: what Envoy's transcoder
    and ghz load in the benchmark."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(contracts.read_bytes())
    names = {f.name for f in fds.file}
    if "google/protobuf/empty.proto" not in names:
        empty = fds.file.add()
        empty_pb2.DESCRIPTOR.CopyToProto(empty)
    if file_descriptor().name not in names:
        fds.file.append(file_descriptor())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(fds.SerializeToString())
    return out


def _call(_request: empty_pb2.Empty, _context: grpc.ServicerContext) -> empty_pb2.Empty:
    return empty_pb2.Empty()


def build_server(address: str) -> tuple[grpc.Server, int]:
    """The bare server, bound to `address` (port 0: any), not started. Returns it and its port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bench"),
        options=list(GRPC_SERVER_OPTIONS),
    )
    handler = grpc.unary_unary_rpc_method_handler(
        _call,
        request_deserializer=empty_pb2.Empty.FromString,
        response_serializer=empty_pb2.Empty.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),))
    # Envoy health-checks every cluster by its service name; the launcher checks the overall status.
    checks = health.HealthServicer()
    for name in ("", SERVICE):
        checks.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return server, port


def main() -> int:
    host = os.environ.get(f"{ENV_PREFIX}_HOST", "127.0.0.1")
    port = os.environ.get(f"{ENV_PREFIX}_PORT", "0")
    server, bound = build_server(f"{host}:{port}")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    server.start()
    print(f"bench fixture {os.environ.get('SHOPMESH_REPLICA', '')} serving {SERVICE} on {host}:{bound}")
    stopping.wait()
    server.stop(1).wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
