"""gen/openapi/shopmesh.swagger.json describes exactly the REST surface Envoy serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from meshctl import envoy_config
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT, load

OPENAPI = ROOT / "gen" / "openapi" / "shopmesh.swagger.json"
VERBS = ("get", "put", "post", "delete", "patch")


def _http_rules(descriptor: Path) -> dict[str, tuple[str, str]]:
    """`/pkg.Service/Method` -> (verb, path template) of its google.api.http rule."""
    rules = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes()).file:
        for service in file.service:
            for method in service.method:
                if method.options.HasExtension(annotations_pb2.http):
                    rule: http_pb2.HttpRule = method.options.Extensions[annotations_pb2.http]
                    verb = rule.WhichOneof("pattern")
                    rules[f"/{file.package}.{service.name}/{method.name}"] = (verb, getattr(rule, verb))
    return rules


def _template(path: str, parameters: list[dict[str, Any]]) -> str:
    """An OpenAPI path back in google.api.http form: /v1/{name_1} with pattern orders/[^/]+ -> /v1/{name=orders/*}."""
    by_name = {p["name"]: p for p in parameters if p["in"] == "path"}

    def field(match: re.Match[str]) -> str:
        param = by_name[match.group(1)]
        name = re.sub(r"_\d+$", "", param["name"])  # the generator numbers repeated names
        pattern = param.get("pattern")
        return f"{{{name}={pattern.replace('[^/]+', '*')}}}" if pattern else f"{{{name}}}"

    return re.sub(r"\{([^}]+)\}", field, path)


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId (Service_Method) -> (verb, template, operation)."""
    document = json.loads(OPENAPI.read_text())
    return {
        op["operationId"]: (verb, _template(path, op.get("parameters", [])), op)
        for path, item in document["paths"].items()
        for verb, op in item.items()
        if verb in VERBS
    }


def test_openapi_operations_are_the_routes_envoy_serves() -> None:
    config = envoy_config.render(load(), descriptor_path=DEFAULT_DESCRIPTOR)
    (listener,) = [x for x in config["staticResources"]["listeners"] if x["name"] == "public"]
    (hcm,) = listener["filterChains"][0]["filters"]
    (vhost,) = hcm["typedConfig"]["routeConfig"]["virtualHosts"]
    served = {r["match"]["path"] for r in vhost["routes"] if "path" in r["match"]} - {
        "/grpc.health.v1.Health/Check"
    }
    rules = _http_rules(DEFAULT_DESCRIPTOR)
    assert set(rules) == served  # every route Envoy serves has a REST mapping, and only those

    operations = _operations()
    by_rpc = {f"{rpc.split('/')[1].rsplit('.', 1)[1]}_{rpc.split('/')[2]}": rpc for rpc in served}
    assert set(operations) == set(by_rpc)
    for operation_id, (verb, template, _) in operations.items():
        assert (verb, template) == rules[by_rpc[operation_id]], operation_id


def test_openapi_security_matches_the_open_rpcs() -> None:
    open_rpcs = {
        rpc.split("/")[0].rsplit(".", 1)[1] + "_" + rpc.split("/")[1] for rpc in load().gateway.open_rpcs
    }
    document = json.loads(OPENAPI.read_text())
    assert document["security"] == [{"bearer": []}]
    assert document["securityDefinitions"]["bearer"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Bearer <access_token>` (UserService.Login)",
    }
    no_token = {op_id for op_id, (_, _, op) in _operations().items() if op.get("security") == []}
    assert no_token == open_rpcs


def test_openapi_field_names_are_the_ones_envoy_prints() -> None:
    # Envoy's transcoder prints proto field names (preserve_proto_field_names); so does the document.
    document = json.loads(OPENAPI.read_text())
    order = document["definitions"]["Order"]["properties"]
    assert {"failure_reason", "create_time", "update_time"} <= set(order)
    assert "failureReason" not in order
