"""The native rule evaluator agrees with protovalidate-python, the reference, on generated messages."""

from __future__ import annotations

from typing import Any

import protovalidate
import pytest
from google.protobuf import message
from hypothesis import HealthCheck, given, settings
from shopmesh.order.v1 import order_service_pb2
from shopmesh.payment.v1 import payment_service_pb2
from shopmesh.product.v1 import product_service_pb2
from shopmesh.user.v1 import user_service_pb2

from meshkit import validation
from meshkit.errors import InvalidArgument
from meshkit.validation import UnsupportedRule, Validator
from tests.support.proto_strategies import messages

REQUESTS = [
    getattr(module, name)
    for module in (user_service_pb2, product_service_pb2, order_service_pb2, payment_service_pb2)
    for name in dir(module)
    if name.endswith("Request")
]

REFERENCE = protovalidate.Validator()
NATIVE = Validator()


def reference_verdict(msg: message.Message) -> set[tuple[str, str]]:
    try:
        REFERENCE.validate(msg)
    except protovalidate.ValidationError as error:
        return {(_path(v.proto.field), v.proto.rule_id) for v in error.violations}
    return set()


def _path(field: Any) -> str:
    parts = []
    for element in field.elements:
        part = element.field_name
        if element.HasField("index"):
            part += f"[{element.index}]"
        parts.append(part)
    return ".".join(parts)


@pytest.mark.parametrize("request_type", REQUESTS, ids=lambda t: t.DESCRIPTOR.full_name)
def test_native_rules_agree_with_protovalidate(request_type: type[message.Message]) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(messages(request_type.DESCRIPTOR))
    def agree(msg: message.Message) -> None:
        native = {(v.field, v.rule_id) for v in NATIVE.violations(msg)}
        assert native == reference_verdict(msg), msg

    agree()


def test_valid_requests_pass_and_every_bad_field_is_named() -> None:
    good = order_service_pb2.CreateOrderRequest(
        request_id="r-1",
        order=order_service_pb2.Order(
            items=[order_service_pb2.OrderItem(product="products/abc", quantity=2)]
        ),
        payment=payment_service_pb2.PaymentCard(
            card_number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"
        ),
    )
    NATIVE.validate(good)
    bad = order_service_pb2.CreateOrderRequest()
    bad.CopyFrom(good)
    bad.order.items[0].quantity = 0
    bad.payment.cvc = "1"
    with pytest.raises(InvalidArgument) as info:
        NATIVE.validate(bad)
    assert {v.field for v in info.value.violations} == {"order.items[0].quantity", "payment.cvc"}


def test_a_cel_rule_without_a_native_twin_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    expression, check = validation.NATIVE_CEL["money.positive"]
    monkeypatch.setitem(validation.NATIVE_CEL, "money.positive", (expression + " && true", check))
    with pytest.raises(UnsupportedRule, match=r"money\.positive"):
        Validator().violations(payment_service_pb2.ChargeRequest())
