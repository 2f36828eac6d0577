"""Bounded fuzzing through the gateway: whatever arrives, the answer is a clean 4xx / gRPC code, never a 5xx,
UNKNOWN or INTERNAL, and a refused request writes no row.

REST: schemathesis generates requests from gen/openapi/shopmesh.openapi.json (OpenAPI 3.1; valid and invalid
ones), and every error body must be the document's google.rpc.Status.
gRPC: hypothesis builds messages of every public RPC's request type (tests/support/proto_strategies.py), plus
bytes that are not a message at all. Each runs anonymous, as a user and as an admin. The run is derandomized, so
CI is repeatable; SHOPMESH_FUZZ_EXAMPLES=200 makes it search harder.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import jsonschema
import pytest
import schemathesis
from google.protobuf import descriptor, descriptor_pool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from meshctl import envoy_config
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT
from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import Stubs, rest_user
from tests.support.grpc_testing import with_token
from tests.support.proto_strategies import STRINGS, messages

EXAMPLES = int(os.environ.get("SHOPMESH_FUZZ_EXAMPLES", "12"))
OPENAPI = ROOT / "gen" / "openapi" / "shopmesh.openapi.json"


def _schema() -> Any:
    """The OpenAPI 3.1 document as it is: its path parameters are single segments with the field's pattern
    (`/v1/products/{product}`), which schemathesis fills as they are."""
    return schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text()))


def _status_validator() -> jsonschema.Draft202012Validator:
    """Every error body must be the document's google.rpc.Status (the schema every operation's errors name)."""
    components = json.loads(OPENAPI.read_text())["components"]
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Status", "components": components})


STATUS = _status_validator()
OPERATIONS = [result.ok() for result in _schema().get_all_operations()]

# A client's mistake is never one of these; neither is anything the mesh should survive.
BAD_CODES = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
}
BAD_JSON_CODES = {c.value[0] for c in BAD_CODES}


def _settings() -> Callable[[Any], Any]:
    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def tokens(mesh: RunningMesh) -> dict[str, str | None]:
    return {"anonymous": None, "user": rest_user(mesh.rest)["token"], "admin": mesh.admin_token}


@pytest.fixture(scope="module")
def names(mesh: RunningMesh, tokens: dict[str, str | None]) -> list[str]:
    """Real resource names, so that generated requests also reach rows that exist (the fuzzing user's own too)."""
    admin = Stubs(mesh.channel, mesh.admin_token)
    product = admin.product(stock=1000)
    owner = Stubs(mesh.channel).signup()
    order = owner.api.order(product.name)
    return [product.name, order.name, order.payment, owner.user.name, f"{product.name}x"]


@pytest.fixture(scope="module", autouse=True)
def _refill_login_bucket() -> Iterator[None]:
    yield
    time.sleep(1.1)  # the fuzzer exhausts the per-client Login bucket; later tests log in


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_rest_fuzz(mesh: RunningMesh, tokens: dict[str, str | None], operation: Any) -> None:
    seen: set[int] = set()
    for token in tokens.values():
        headers = {"authorization": f"Bearer {token}"} if token else {}
        _fuzz_rest(mesh, operation.as_strategy(generation_mode=GenerationMode.POSITIVE), headers, seen)
        try:
            _fuzz_rest(mesh, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), headers, seen)
        except Unsatisfiable:
            pass  # nothing to make invalid: no parameters, or only a path segment (its invalid values hold a "/")
    if operation.definition.raw.get("security") != []:
        assert 401 in seen, seen  # anonymous callers were turned away


def _fuzz_rest(mesh: RunningMesh, cases: Any, headers: dict[str, str], seen: set[int]) -> None:
    @_settings()
    @given(case=cases)
    def call(case: Any) -> None:
        before = mesh.counts()
        response = case.call(base_url=mesh.endpoints.rest, headers=headers, timeout=30)
        seen.add(response.status_code)
        command = case.as_curl_command(headers=headers, base_url=mesh.endpoints.rest)
        assert response.status_code < 500, f"{response.status_code} {response.text[:300]}\n{command}"
        body = _body(response.text)
        if isinstance(body, dict) and "code" in body:
            assert body["code"] not in BAD_JSON_CODES, f"{response.text[:300]}\n{command}"
        if response.status_code >= 400:
            assert isinstance(body, dict) and "message" in body, f"not a JSON status: {response.text[:200]}"
            errors = [e.message for e in STATUS.iter_errors(body)]
            assert not errors, f"not the documented Status: {errors}: {response.text[:300]}\n{command}"
            assert mesh.counts() == before, f"a refused request wrote rows\n{command}"

    call()


def _public_rpcs() -> list[tuple[str, descriptor.Descriptor]]:
    pool = descriptor_pool.Default()
    rpcs = []
    for service, methods in sorted(envoy_config.public_methods(DEFAULT_DESCRIPTOR).items()):
        for method in methods:
            input_type = pool.FindServiceByName(service).methods_by_name[method].input_type
            rpcs.append((f"/{service}/{method}", input_type))
    return rpcs


@pytest.mark.parametrize("rpc", _public_rpcs(), ids=lambda rpc: rpc[0])
def test_grpc_fuzz(
    mesh: RunningMesh, tokens: dict[str, str | None], names: list[str], rpc: tuple[str, Any]
) -> None:
    path, input_type = rpc
    strings = st.one_of(STRINGS, st.sampled_from(names))
    codes: set[grpc.StatusCode] = set()
    for token in tokens.values():
        channel = with_token(mesh.channel, token) if token else mesh.channel
        call = channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        typed = messages(input_type, strings).map(lambda msg: msg.SerializeToString())
        for payloads in (typed, st.binary(max_size=48)):  # messages, then bytes that are not one
            _fuzz_grpc(mesh, call, payloads, codes)
    assert codes - {grpc.StatusCode.OK}, codes


def _fuzz_grpc(mesh: RunningMesh, call: Any, payloads: Any, codes: set[grpc.StatusCode]) -> None:
    @_settings()
    @given(payloads)
    def check(payload: bytes) -> None:
        before = mesh.counts()
        try:
            call(payload, timeout=30)
            codes.add(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.add(error.code())
            assert error.code() not in BAD_CODES, f"{error.code().name}: {error.details()} for {payload!r}"
            assert mesh.counts() == before, f"a refused request wrote rows: {payload!r}"

    check()


def test_the_mesh_is_healthy_after_fuzzing(mesh: RunningMesh) -> None:
    assert mesh.launcher.dead_child() is None
    admin = Stubs(mesh.channel, mesh.admin_token)
    buyer = Stubs(mesh.channel).signup()
    order = buyer.api.order(admin.product(stock=1).name)
    assert order.payment and order.status == 2  # CONFIRMED
