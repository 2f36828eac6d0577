"""gen/asyncapi/shopmesh.asyncapi.json (AsyncAPI 3.0) describes the events as the services publish them: one
channel per event on its NATS subject, the CloudEvents headers meshkit.events writes, payload schemas a real
event satisfies; @asyncapi/cli finds no error in it."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from google.protobuf import descriptor_pb2, json_format
from google.protobuf.message import Message
from shopmesh.order.v1 import events_pb2 as order_events
from shopmesh.order.v1 import order_service_pb2
from shopmesh.product.v1 import events_pb2 as product_events
from shopmesh.product.v1 import product_service_pb2

from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT
from meshkit.events import Event, StreamSpec, subject_of

ASYNCAPI = ROOT / "gen" / "asyncapi" / "shopmesh.asyncapi.json"
CLI = ROOT / ".tools" / "node" / "node_modules" / ".bin" / "asyncapi"
SERVICES = {"users": "svc_user", "products": "svc_product", "orders": "svc_order", "payments": "svc_payment"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(ASYNCAPI.read_text())


def _event_names() -> set[str]:
    """The top-level messages of every events.proto: the events."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(DEFAULT_DESCRIPTOR.read_bytes())
    return {
        f"{f.package}.{m.name}" for f in fds.file if f.name.endswith("/events.proto") for m in f.message_type
    }


def _validator(document: dict[str, Any], schema: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    )


def test_a_channel_per_event_on_its_subject(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    events = _event_names()
    assert len(events) >= 7
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == events
    for key, channel in document["channels"].items():
        package = channel["address"].rsplit(".", 1)[0]
        stream = StreamSpec.for_package(package, 0.0)
        assert f"`{stream.name}`" in channel["description"]
        operation = document["operations"][f"publish_{key}"]
        assert operation["action"] == "send" and operation["channel"] == {"$ref": f"#/channels/{key}"}


def test_messages_name_the_subject_the_services_publish_on_and_their_source(document: dict[str, Any]) -> None:
    sources = {importlib.import_module(f"{module}.events").SOURCE for module in SERVICES.values()}
    for message in document["components"]["messages"].values():
        full_name = message["x-protobuf-message"]
        package, _, name = full_name.rpartition(".")
        cls = getattr(importlib.import_module(f"shopmesh.{package.split('.')[1]}.v1.events_pb2"), name)
        assert subject_of(cls) == full_name == message["title"]
        assert message["contentType"] == "application/protobuf"
        assert message["x-cloudevents-source"] in sources
    by_source = {
        m["x-protobuf-message"]: m["x-cloudevents-source"]
        for m in document["components"]["messages"].values()
    }
    assert by_source["shopmesh.order.v1.OrderConfirmed"] == importlib.import_module("svc_order.events").SOURCE


def _published(message: Message, resource: str) -> Event:
    return Event(
        id="0f0e5e2c-4b7e-4a57-9a44-3c4c7f1d2b10",
        type=subject_of(message),
        source="//orders.shopmesh.dev",
        subject=resource,
        time=dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC),
        data=message.SerializeToString(),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


def test_the_headers_are_the_cloudevents_ones_meshkit_writes(document: dict[str, Any]) -> None:
    order = order_events.OrderConfirmed(order=order_service_pb2.Order(name="orders/o1"))
    headers = _published(order, "orders/o1").headers()
    validator = _validator(document, "CloudEventsHeaders")
    validator.validate(headers)
    schema = document["components"]["schemas"]["CloudEventsHeaders"]
    assert set(schema["properties"]) == set(headers)
    assert set(schema["required"]) == set(headers) - {"traceparent", "ce-subject"}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**headers, "ce-specversion": "0.3"})


def test_payload_schemas_accept_a_real_event(document: dict[str, Any]) -> None:
    product = product_service_pb2.Product(name="products/p1", sku="SKU-1", title="Mug", stock=3)
    product.price.currency_code, product.price.units = "EUR", 12
    product.create_time.FromDatetime(dt.datetime(2026, 12, 3, tzinfo=dt.UTC))
    changed = product_events.ProductChanged(product=product, change=product_events.ProductChanged.CREATED)
    body = json_format.MessageToDict(changed, preserving_proto_field_name=True)
    validator = _validator(document, "shopmesh_product_v1_ProductChanged")
    validator.validate(body)
    # The OpenAPI document's constraints came along (Product.stock >= 0).
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**body, "product": {**body["product"], "stock": -1}})


def test_asyncapi_cli_validates_it(tmp_path: Path) -> None:
    assert CLI.exists(), "run `make install` (tools/install-codegen.sh installs @asyncapi/cli)"
    # The CLI sends usage metrics unless its config file says no: a file of our own, in the test's directory.
    metrics = tmp_path / "asyncapi-analytics.json"
    metrics.write_text(
        json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "test"})
    )
    proc = subprocess.run(
        [str(CLI), "validate", str(ASYNCAPI), "--fail-severity", "warn"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(metrics), "SUPPRESS_NO_CONFIG_WARNING": "1"},
        timeout=180,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "is valid" in output and "0 errors, 0 warnings" in output, output
