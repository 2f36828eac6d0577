"""gen/openapi/shopmesh.openapi.json (OpenAPI 3.1) describes exactly the REST surface Envoy serves: its routes, its
token rules, the constraints the services enforce and the error bodies callers get; a real linter finds nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
from buf.validate import validate_pb2
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, json_format
from google.rpc import status_pb2
from grpc_status import rpc_status

from meshctl import envoy_config
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT, load
from meshkit import errors, status
from tools import openapi_post

OPENAPI = ROOT / "gen" / "openapi" / "shopmesh.openapi.json"
REDOCLY = ROOT / ".tools" / "node" / "node_modules" / ".bin" / "redocly"
VERBS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text())


@pytest.fixture(scope="module")
def envoy() -> dict[str, Any]:
    return envoy_config.render(load(), descriptor_path=DEFAULT_DESCRIPTOR)


def _public_hcm(config: dict[str, Any]) -> dict[str, Any]:
    (listener,) = [x for x in config["staticResources"]["listeners"] if x["name"] == "public"]
    (hcm,) = listener["filterChains"][0]["filters"]
    return dict(hcm["typedConfig"])


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


def _shape(template: str) -> str:
    """A path with every variable segment as `*`: `/v1/{name=products/*}` and `/v1/products/{product}` are both
    `/v1/products/*`, the URLs they match being the same."""
    return re.sub(r"\{[^}=]+(?:=([^}]*))?\}", lambda m: m.group(1) or "*", template)


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId (Service_Method) -> (verb, path, operation)."""
    return {
        op["operationId"]: (verb, path, op)
        for path, item in document["paths"].items()
        for verb, op in item.items()
        if verb in VERBS
    }


def _grpc_path(operation_id: str, served: set[str]) -> str:
    service, method = operation_id.split("_")
    (path,) = [p for p in served if p.endswith(f".{service}/{method}")]
    return path


def _served(envoy: dict[str, Any]) -> set[str]:
    (vhost,) = _public_hcm(envoy)["routeConfig"]["virtualHosts"]
    return {r["match"]["path"] for r in vhost["routes"] if "path" in r["match"] and "route" in r} - {
        "/grpc.health.v1.Health/Check"
    }


def test_openapi_3_1_operations_are_the_routes_envoy_serves(
    document: dict[str, Any], envoy: dict[str, Any]
) -> None:
    assert document["openapi"] == "3.1.0"
    served = _served(envoy)
    rules = _http_rules(DEFAULT_DESCRIPTOR)
    assert set(rules) == served  # every route Envoy serves has a REST mapping, and only those
    operations = _operations(document)
    assert {_grpc_path(op_id, served) for op_id in operations} == served
    for operation_id, (verb, path, _) in operations.items():
        rule_verb, template = rules[_grpc_path(operation_id, served)]
        assert (verb, _shape(path)) == (rule_verb, _shape(template)), operation_id


def _jwt_rules(envoy: dict[str, Any]) -> list[dict[str, Any]]:
    (jwt,) = [f for f in _public_hcm(envoy)["httpFilters"] if f["name"] == "envoy.filters.http.jwt_authn"]
    return list(jwt["typedConfig"]["rules"])


def _envoy_wants_a_token(rules: list[dict[str, Any]], path: str) -> bool:
    """What Envoy's jwt_authn does with `path`: its first matching rule decides."""
    for rule in rules:
        match = rule["match"]
        if match.get("path") == path or ("prefix" in match and path.startswith(match["prefix"])):
            return "requires" in rule
    return False


def test_bearer_scheme_on_exactly_the_operations_envoy_wants_a_token_for(
    document: dict[str, Any], envoy: dict[str, Any]
) -> None:
    # Read from the rendered Envoy config, not from the topology the generator read: the filter is the truth.
    rules = _jwt_rules(envoy)
    served = _served(envoy)
    assert document["components"]["securitySchemes"] == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The `access_token` of `POST /v1/users:login` (UserService.Login), sent as "
            "`Authorization: Bearer <token>`.",
        }
    }
    assert "security" not in document  # no default: each operation says
    wanted = {}
    for op_id, (_, _, op) in _operations(document).items():
        assert op["security"] in ([], [{"bearer": []}]), op_id
        wanted[op_id] = op["security"] == [{"bearer": []}]
        assert wanted[op_id] == _envoy_wants_a_token(rules, _grpc_path(op_id, served)), op_id
        assert ("401" in op["responses"]) == wanted[op_id], op_id
    open_rpcs = {
        rpc.split("/")[0].rsplit(".", 1)[1] + "_" + rpc.split("/")[1] for rpc in load().gateway.open_rpcs
    }
    assert {op_id for op_id, token in wanted.items() if not token} == open_rpcs


def test_openapi_field_names_are_the_ones_envoy_prints(document: dict[str, Any]) -> None:
    # Envoy's transcoder prints proto field names (preserve_proto_field_names); so does the document.
    order = document["components"]["schemas"]["Order"]["properties"]
    assert {"failure_reason", "create_time", "update_time"} <= set(order)
    assert "failureReason" not in order


def test_protovalidate_rules_are_schema_constraints(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    product = schemas["Product"]
    assert set(product["required"]) >= {"sku", "title", "price"}  # field_behavior REQUIRED
    # IGNORE_IF_ZERO_VALUE: the empty string (unset) passes too.
    assert product["properties"]["sku"]["pattern"] == "^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    assert product["properties"]["title"]["maxLength"] == 200
    assert product["properties"]["stock"]["minimum"] == 0
    # CEL rules have no JSON Schema form: their messages are in the description.
    assert "three-letter ISO 4217" in product["properties"]["price"]["description"]
    operations = _operations(document)
    _, _, list_products = operations["ProductService_ListProducts"]
    params = {p["name"]: p["schema"] for p in list_products["parameters"]}
    assert params["page_size"]["minimum"] == 0 and params["page_token"]["maxLength"] == 512
    # A path parameter gets its field's pattern without the literal segment the path already holds.
    _, path, get_product = operations["ProductService_GetProduct"]
    assert path == "/v1/products/{product}"
    (param,) = get_product["parameters"]
    assert param["schema"]["pattern"] == "^[a-z0-9][a-z0-9-]{0,63}$"
    # buf.validate `required` on a message field joins the schema's required list.
    create_order = schemas["CreateOrderRequest"]
    assert "order" in create_order["required"]


def test_body_star_operations_do_not_offer_the_path_bound_fields(document: dict[str, Any]) -> None:
    # CancelOrder binds `name` in the path; Envoy refuses a body that sets it again.
    _, path, cancel = _operations(document)["OrderService_CancelOrder"]
    assert path == "/v1/orders/{order}:cancel"
    ref = cancel["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "name" not in document["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {})


def _status_validator(document: dict[str, Any]) -> jsonschema.Draft202012Validator:
    schema = {"$ref": "#/components/schemas/Status", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_every_operation_answers_errors_as_the_status_body(document: dict[str, Any]) -> None:
    for op_id, (_, path, op) in _operations(document).items():
        responses = op["responses"]
        assert {"400", "429", "default"} <= set(responses), op_id
        assert ("404" in responses) == ("{" in path), op_id
        for status_code, response in responses.items():
            if status_code != "200":
                name = response["$ref"].rsplit("/", 1)[1]
                content = document["components"]["responses"][name]["content"]
                assert content == {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}


def _printed(error: errors.ServiceError) -> dict[str, Any]:
    """The JSON body Envoy's transcoder prints for this service error: meshkit.status's google.rpc.Status in
    proto3 JSON with proto field names (the transcoder's print options)."""
    grpc_status = status.to_status(error, "products.shopmesh.dev")
    (details_bin,) = [
        v for k, v in grpc_status.trailing_metadata if k == rpc_status.GRPC_DETAILS_METADATA_KEY
    ]
    message = status_pb2.Status.FromString(details_bin)
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def test_the_status_schema_accepts_what_the_services_and_envoy_answer(document: dict[str, Any]) -> None:
    validator = _status_validator(document)
    bad = errors.InvalidArgument("product.sku", "must match the pattern")
    body = _printed(bad)
    assert [d["@type"] for d in body["details"]] == [
        "type.googleapis.com/google.rpc.ErrorInfo",
        "type.googleapis.com/google.rpc.BadRequest",
    ]
    validator.validate(body)
    validator.validate(_printed(errors.NotFound("no such product", reason="PRODUCT_NOT_FOUND")))
    # Envoy's own REST local replies (envoy_policies.local_reply_config): no details.
    validator.validate({"code": 16, "message": "Jwt is missing", "details": []})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"error": "not a status"})
    assert grpc.StatusCode.INVALID_ARGUMENT.value[0] == body["code"]


def test_constraints_of_each_rule_kind() -> None:
    """tools/openapi_post.py's mapping, rule by rule (what the contracts do not use yet included)."""

    def rules(**kwargs: Any) -> validate_pb2.FieldRules:
        return validate_pb2.FieldRules(**kwargs)

    constraints = openapi_post.scalar_constraints
    assert constraints(rules(string=validate_pb2.StringRules(min_len=1, max_len=5))) == {
        "minLength": 1,
        "maxLength": 5,
    }
    assert constraints(rules(string=validate_pb2.StringRules(len=3))) == {"minLength": 3, "maxLength": 3}
    assert constraints(rules(string=validate_pb2.StringRules(pattern="^a$"))) == {"pattern": "^a$"}
    ignored = rules(string=validate_pb2.StringRules(pattern="^a$"), ignore=validate_pb2.IGNORE_IF_ZERO_VALUE)
    assert constraints(ignored) == {"pattern": "^$|^a$"}
    assert constraints(rules(string=validate_pb2.StringRules(email=True))) == {"format": "email"}
    assert constraints(rules(int32=validate_pb2.Int32Rules(gt=0, lte=10))) == {
        "exclusiveMinimum": 0,
        "maximum": 10,
    }
    # proto3 JSON prints int64 as a string: numeric keywords would not apply to it.
    assert constraints(rules(int64=validate_pb2.Int64Rules(gte=0))) == {}
    assert constraints(rules(repeated=validate_pb2.RepeatedRules(min_items=1, max_items=100))) == {
        "minItems": 1,
        "maxItems": 100,
    }


def test_redocly_lint_finds_nothing(tmp_path: Path) -> None:
    assert REDOCLY.exists(), "run `make install` (tools/install-codegen.sh installs @redocly/cli)"
    proc = subprocess.run(
        [
            str(REDOCLY),
            "lint",
            "--config",
            str(ROOT / "tools" / "redocly.yaml"),
            "--format",
            "json",
            str(OPENAPI),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
        timeout=120,
        check=False,
    )
    report = json.loads(proc.stdout)
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, [
        (p["ruleId"], p["message"]) for p in report["problems"]
    ]
    assert proc.returncode == 0, proc.stderr
