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


def _contract_patterns() -> set[str]:
    from buf.validate import validate_pb2

    found: set[str] = set()
    for module in (order_service_pb2, payment_service_pb2, product_service_pb2, user_service_pb2):
        for msg in module.DESCRIPTOR.message_types_by_name.values():
            for fd in msg.fields:
                rules = fd.GetOptions().Extensions[validate_pb2.field]
                if rules.HasField("string") and rules.string.HasField("pattern"):
                    found.add(rules.string.pattern)
    return found


PATTERN_SAMPLES = [
    "", "products/abc", "products/abc\n", "products/ABC", "products/-x", "xproducts/abc", "users/0123abcd",
    "orders/" + "a" * 64, "orders/" + "a" * 65, "req-1:2.3_4", "req 1", "٣", "a" * 128, "a" * 129, "users/é",
]  # fmt: skip


@pytest.mark.parametrize("pattern", sorted(_contract_patterns()))
def test_every_contract_pattern_means_what_re2_means(pattern: str) -> None:
    import re2

    reference = re2.compile(pattern)
    matches = validation.compile_pattern(pattern)
    for value in PATTERN_SAMPLES:
        assert matches(value) == (reference.search(value) is not None), (pattern, value)


def test_patterns_beyond_the_simple_shape_run_on_re2() -> None:
    import re2

    for pattern in (r"^(a|b)+$", r"^\d{2}$", r"^[[:alpha:]]{2}$", r"^\pL+$", r"^\Qa.b\E$", "ab"):
        reference = re2.compile(pattern)
        matches = validation.compile_pattern(pattern)
        for value in ("ab", "aab", "12", "١٢", "a.b", "xaby", "ab\n", "éé"):
            assert matches(value) == (reference.search(value) is not None), (pattern, value)
