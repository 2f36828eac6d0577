"""Turns protoc-gen-openapi's OpenAPI 3.0 document into gen/openapi/shopmesh.openapi.json, OpenAPI 3.1.

gnostic's generator (buf.gen.yaml) reads the routes, messages, comments and google.api.field_behavior; what it
cannot know comes from here, each from the source Envoy itself is configured from:

* protovalidate's rules (buf.validate, in the descriptor set) become JSON Schema constraints where they map:
  lengths, ranges, patterns, enums, item counts, `required`; CEL rules have no JSON Schema form, so their
  messages join the field's description;
* every operation's error answers: the google.rpc.Status JSON body Envoy's transcoder prints for a failed call
  (`convert_grpc_status`, proto field names) with the details meshkit.status attaches (ErrorInfo, BadRequest),
  which is also the shape of Envoy's own local replies on REST (envoy_policies.local_reply_config);
* the bearer scheme on exactly the operations the gateway's jwt_authn filter demands a token for
  (envoy_security.token_required, which reads the rules that filter is rendered with);
* 3.0 -> 3.1: `format: enum` dropped, the document's info and servers from tools/openapi.yaml.

    python tools/openapi_post.py GNOSTIC.yaml DESCRIPTOR.binpb OUT.json
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from buf.validate import validate_pb2
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from meshctl import envoy_security
from meshctl.topology import ROOT, load

CONFIG = ROOT / "tools" / "openapi.yaml"
VERBS = ("get", "put", "post", "delete", "patch")
Json = dict[str, Any]
FieldType = descriptor_pb2.FieldDescriptorProto

INTEGER_RULES = ("int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32")
NUMBER_RULES = ("float", "double")


def _clean(text: str) -> str:
    """gnostic keeps the space after `//` on every line but the first: drop it."""
    return "\n".join(line[1:] if line.startswith(" ") else line for line in text.split("\n"))


def _messages(fds: descriptor_pb2.FileDescriptorSet) -> dict[str, descriptor_pb2.DescriptorProto]:
    """Full name -> message, nested ones included."""
    found: dict[str, descriptor_pb2.DescriptorProto] = {}

    def walk(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        found[name] = message
        for nested in message.nested_type:
            walk(name, nested)

    for file in fds.file:
        for message in file.message_type:
            walk(file.package, message)
    return found


def schema_name(full_name: str) -> str:
    """The component name gnostic gives a message (naming=proto): its own name, or for googleapis and
    well-known types the package in CamelCase before it (google.protobuf.Any -> GoogleProtobufAny)."""
    package, _, name = full_name.rpartition(".")
    if package.startswith("google.") and package not in ("google.type", "google.rpc"):
        return "".join(p.capitalize() for p in package.split(".")) + name
    return name


# The generated stub types the extension as a plain FieldDescriptor, which the Extensions API does not accept.
FIELD_RULES: Any = validate_pb2.field


def _rules(field: descriptor_pb2.FieldDescriptorProto) -> validate_pb2.FieldRules | None:
    if not field.options.HasExtension(FIELD_RULES):
        return None
    rules: validate_pb2.FieldRules = field.options.Extensions[FIELD_RULES]
    return rules


def _zero_ignored(rules: validate_pb2.FieldRules) -> bool:
    return rules.ignore in (validate_pb2.IGNORE_IF_ZERO_VALUE, validate_pb2.IGNORE_ALWAYS)


def scalar_constraints(rules: validate_pb2.FieldRules) -> Json:
    """The JSON Schema keywords of one value's rules (a field's, or a repeated field's items')."""
    kind = rules.WhichOneof("type")
    out: Json = {}
    if kind == "string":
        s = rules.string
        if s.HasField("len"):
            out["minLength"] = out["maxLength"] = s.len
        if s.HasField("min_len"):
            out["minLength"] = s.min_len
        if s.HasField("max_len"):
            out["maxLength"] = s.max_len
        if s.HasField("pattern"):
            # An ignored zero value (IGNORE_IF_ZERO_VALUE) is valid too: the empty string is "not set".
            out["pattern"] = f"^$|{s.pattern}" if _zero_ignored(rules) else s.pattern
        if s.HasField("const"):
            out["const"] = s.const
        if getattr(s, "in"):
            out["enum"] = list(getattr(s, "in"))
        if s.HasField("email") and s.email:
            out["format"] = "email"
        if s.HasField("uuid") and s.uuid:
            out["format"] = "uuid"
        if s.HasField("uri") and s.uri:
            out["format"] = "uri"
    elif kind in INTEGER_RULES or kind in NUMBER_RULES:
        r = getattr(rules, kind)
        if kind in ("int64", "uint64", "sint64", "fixed64"):
            return out  # proto3 JSON prints 64-bit integers as strings: no numeric keywords apply
        if r.HasField("gte"):
            out["minimum"] = r.gte
        if r.HasField("gt"):
            out["exclusiveMinimum"] = r.gt
        if r.HasField("lte"):
            out["maximum"] = r.lte
        if r.HasField("lt"):
            out["exclusiveMaximum"] = r.lt
        if r.HasField("const"):
            out["const"] = r.const
        if getattr(r, "in"):
            out["enum"] = list(getattr(r, "in"))
    elif kind == "repeated":
        rep = rules.repeated
        if rep.HasField("min_items"):
            out["minItems"] = rep.min_items
        if rep.HasField("max_items"):
            out["maxItems"] = rep.max_items
        if rep.unique:
            out["uniqueItems"] = True
    return out


def _cel_notes(rules: validate_pb2.FieldRules) -> list[str]:
    return [rule.message for rule in rules.cel if rule.message]


def _apply(schema: Json, rules: validate_pb2.FieldRules) -> None:
    """Adds a field's rules to its property schema (in place)."""
    if rules.WhichOneof("type") == "repeated":
        schema.update(scalar_constraints(rules))
        if rules.repeated.HasField("items") and "items" in schema:
            schema["items"].update(scalar_constraints(rules.repeated.items))
    elif "$ref" not in schema and "allOf" not in schema:
        schema.update(scalar_constraints(rules))
    if notes := _cel_notes(rules):
        text = schema.get("description", "")
        schema["description"] = (text + "\n\n" if text else "") + "Validated: " + "; ".join(notes) + "."


def constrain_schemas(document: Json, messages: dict[str, descriptor_pb2.DescriptorProto]) -> None:
    schemas: Json = document["components"]["schemas"]
    by_schema = {schema_name(full): (full, m) for full, m in messages.items()}
    for name, schema in schemas.items():
        if name not in by_schema:
            continue
        _, message = by_schema[name]
        required = list(schema.get("required", []))
        for field in message.field:
            rules = _rules(field)
            prop = schema.get("properties", {}).get(field.name)
            if rules is None or prop is None:
                continue
            _apply(prop, rules)
            if rules.required and field.name not in required:
                required.append(field.name)
        if required:
            schema["required"] = required


def _http_rules(fds: descriptor_pb2.FileDescriptorSet) -> dict[str, tuple[str, http_pb2.HttpRule, str]]:
    """operationId (Service_Method, as gnostic names them) -> (gRPC path, its HTTP rule, input type)."""
    found: dict[str, tuple[str, http_pb2.HttpRule, str]] = {}
    for file in fds.file:
        for service in file.service:
            for method in service.method:
                if method.options.HasExtension(annotations_pb2.http):
                    operation_id = f"{service.name}_{method.name}"
                    if operation_id in found:
                        raise ValueError(f"two public RPCs named {operation_id}")
                    found[operation_id] = (
                        f"/{file.package}.{service.name}/{method.name}",
                        method.options.Extensions[annotations_pb2.http],
                        method.input_type.lstrip("."),
                    )
    return found


def _path_bindings(rule: http_pb2.HttpRule) -> dict[str, str]:
    """Field path -> the literal segments before its `*` ({name=products/*} -> {"name": "products/"})."""
    template = getattr(rule, rule.WhichOneof("pattern"))
    return {
        m.group(1): (m.group(2) or "").removesuffix("*")
        for m in re.finditer(r"\{([\w.]+)(?:=([^}]*))?\}", template)
    }


def _field(
    messages: dict[str, descriptor_pb2.DescriptorProto], message: str, path: str
) -> descriptor_pb2.FieldDescriptorProto | None:
    """The field at dotted `path` in `message`."""
    head, _, rest = path.partition(".")
    for field in messages[message].field:
        if field.name == head:
            if not rest:
                return field
            return _field(messages, field.type_name.lstrip("."), rest)
    return None


def constrain_parameters(document: Json, fds: descriptor_pb2.FileDescriptorSet) -> None:
    """Path and query parameters get the rules of the request field they fill. gnostic names a path parameter
    after the resource (`{name=products/*}` -> `/v1/products/{product}`), so the literal prefix is cut from the
    field's pattern; a query parameter is named like its field."""
    messages = _messages(fds)
    rules = _http_rules(fds)
    for item in document["paths"].values():
        for verb, operation in item.items():
            if verb not in VERBS:
                continue
            _, rule, input_type = rules[operation["operationId"]]
            bindings = _path_bindings(rule)
            path_params = [p for p in operation.get("parameters", []) if p["in"] == "path"]
            if len(path_params) != len(bindings):
                raise ValueError(f"{operation['operationId']}: path parameters {path_params} vs {bindings}")
            for param, (field_path, prefix) in zip(path_params, bindings.items(), strict=True):
                field = _field(messages, input_type, field_path)
                field_rules = _rules(field) if field else None
                if field_rules is None:
                    continue
                constraints = scalar_constraints(field_rules)
                pattern = constraints.pop("pattern", None)
                if pattern and prefix and pattern.startswith("^" + prefix):
                    param["schema"]["pattern"] = "^" + pattern[len(prefix) + 1 :]
                param["schema"].update(constraints)
            for param in operation.get("parameters", []):
                if param["in"] != "query":
                    continue
                field = _field(messages, input_type, param["name"])
                field_rules = _rules(field) if field else None
                if field_rules is not None:
                    _apply(param["schema"], field_rules)
                    if field_rules.required:
                        param["required"] = True
            if rule.body == "*":
                _drop_path_fields_from_body(document, operation, bindings)


def _drop_path_fields_from_body(document: Json, operation: Json, bindings: dict[str, str]) -> None:
    """With `body: "*"` the path binds some fields; Envoy refuses a body that sets them again
    (reject_binding_body_field_collisions), so the body's schema must not offer them."""
    ref = operation["requestBody"]["content"]["application/json"]["schema"].get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    users = json.dumps(document["paths"]).count(f'"{ref}"')
    if users != 1:
        raise ValueError(f"{name} is the body of {users} operations; cannot narrow it for one")
    schema = document["components"]["schemas"][name]
    for field in bindings:
        schema.get("properties", {}).pop(field, None)
        if field in schema.get("required", []):
            schema["required"].remove(field)
    if not schema.get("required"):
        schema.pop("required", None)


ERROR_SCHEMAS: Json = {
    "Status": {
        "type": "object",
        "description": (
            "A failed call: google.rpc.Status in proto3 JSON (Envoy's gRPC-JSON transcoder, proto field names). "
            "`code` is the gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, 16 UNAUTHENTICATED, ...), "
            "`message` a text for developers. A service's error carries an ErrorInfo (its `reason` is the "
            "stable value to branch on) and, for bad input, a BadRequest listing the fields; a refusal by the "
            "gateway itself (no token, rate limit, malformed JSON, unknown path) has the same shape with no "
            "details."
        ),
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 16},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/ErrorInfo"},
                        {"$ref": "#/components/schemas/BadRequest"},
                    ]
                },
            },
        },
    },
    "ErrorInfo": {
        "type": "object",
        "description": "google.rpc.ErrorInfo: why the call failed, as a stable reason within a domain.",
        "required": ["@type", "reason", "domain"],
        "properties": {
            "@type": {"const": "type.googleapis.com/google.rpc.ErrorInfo"},
            "reason": {"type": "string", "description": "UPPER_SNAKE_CASE, e.g. `OUT_OF_STOCK`."},
            "domain": {"type": "string", "description": "The service's domain, e.g. `orders.shopmesh.dev`."},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "BadRequest": {
        "type": "object",
        "description": "google.rpc.BadRequest: the request fields that are invalid.",
        "required": ["@type", "field_violations"],
        "properties": {
            "@type": {"const": "type.googleapis.com/google.rpc.BadRequest"},
            "field_violations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "description"],
                    "properties": {
                        "field": {"type": "string", "description": "Dotted path, e.g. `product.sku`."},
                        "description": {"type": "string"},
                    },
                },
            },
        },
    },
}

ERROR_RESPONSES = {
    "BadRequest": "INVALID_ARGUMENT (3): the request is malformed or a field is invalid (see BadRequest).",
    "Unauthenticated": "UNAUTHENTICATED (16): no access token, or one the gateway does not accept.",
    "NotFound": "NOT_FOUND (5): no such resource.",
    "TooManyRequests": "RESOURCE_EXHAUSTED (8): the gateway's rate limit; retry later.",
    "Error": "Any other failure, with its gRPC code (FAILED_PRECONDITION 400, PERMISSION_DENIED 403, "
    "ALREADY_EXISTS 409, UNAVAILABLE 503, ...).",
}


def add_errors(document: Json, needs_token: dict[str, bool]) -> None:
    components = document["components"]
    components["schemas"].update(copy.deepcopy(ERROR_SCHEMAS))
    components["responses"] = {
        name: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}},
        }
        for name, text in ERROR_RESPONSES.items()
    }
    for item in document["paths"].values():
        for verb, operation in item.items():
            if verb not in VERBS:
                continue
            responses = {k: v for k, v in operation["responses"].items() if k != "default"}
            refs = {"400": "BadRequest"}
            if needs_token[operation["operationId"]]:
                refs["401"] = "Unauthenticated"
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                refs["404"] = "NotFound"
            refs["429"] = "TooManyRequests"
            refs["default"] = "Error"
            for status, ref in refs.items():
                responses[status] = {"$ref": f"#/components/responses/{ref}"}
            operation["responses"] = responses


def add_summaries(document: Json) -> None:
    """A summary per operation (the line an index shows): the first sentence of its comment."""
    for item in document["paths"].values():
        for verb, operation in item.items():
            if verb in VERBS:
                text = " ".join(operation.get("description", "").split())
                first = re.split(r"(?<=[.:])\s", text, maxsplit=1)[0].rstrip(".:")
                operation["summary"] = first or operation["operationId"].replace("_", ".")


def add_security(document: Json, needs_token: dict[str, bool], scheme: Json) -> None:
    document["components"]["securitySchemes"] = {"bearer": scheme}
    for item in document["paths"].values():
        for verb, operation in item.items():
            if verb in VERBS:
                # An empty list: this call takes no token (there is no document-wide default to override).
                operation["security"] = [{"bearer": []}] if needs_token[operation["operationId"]] else []


def _walk(node: Any) -> Any:
    """3.0 -> 3.1 and tidy text: `format: enum` is not a format; descriptions lose gnostic's indent."""
    if isinstance(node, dict):
        if node.get("format") == "enum":
            del node["format"]
        for key, value in list(node.items()):
            if key == "description" and isinstance(value, str):
                node[key] = _clean(value)
            else:
                _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)
    return node


def convert(gnostic: Json, fds: descriptor_pb2.FileDescriptorSet, config: Json) -> Json:
    """The 3.1 document (see the module docstring)."""
    document = _walk(copy.deepcopy(gnostic))
    gateway = load().gateway
    needs_token = {
        op_id: envoy_security.token_required(gateway, grpc_path)
        for op_id, (grpc_path, _, _) in _http_rules(fds).items()
    }
    document["components"]["schemas"].pop("Status", None)
    document["components"]["schemas"].pop("GoogleProtobufAny", None)
    constrain_schemas(document, _messages(fds))
    constrain_parameters(document, fds)
    add_summaries(document)
    add_errors(document, needs_token)
    add_security(document, needs_token, config["security_scheme"])
    head = {
        "openapi": "3.1.0",
        "info": config["info"],
        "servers": config["servers"],
    }
    return {**head, **{k: v for k, v in document.items() if k not in head}}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    gnostic = yaml.safe_load(Path(argv[0]).read_text())
    fds = descriptor_pb2.FileDescriptorSet.FromString(Path(argv[1]).read_bytes())
    config = yaml.safe_load(CONFIG.read_text())
    Path(argv[2]).write_text(json.dumps(convert(gnostic, fds, config), indent=1, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
