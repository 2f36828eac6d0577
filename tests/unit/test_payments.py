"""The payments service through an in-process gRPC server on SQLite."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.type import money_pb2
from shopmesh.payment.v1 import payment_service_pb2 as pb
from shopmesh.payment.v1 import payment_service_pb2_grpc as pb_grpc

from svc_payment import server as payment_server
from svc_payment import settings as payment_settings
from tests.support.grpc_testing import INTERNAL, as_user, assert_error, call_error, serving, with_metadata
from tests.support.sqlite import database_bytes, rows

PAYMENT_NAME = re.compile(r"^payments/[0-9a-f]{32}$")
VALID_YEAR = dt.date.today().year + 3
CAPTURED, DECLINED, REFUNDED = pb.Payment.CAPTURED, pb.Payment.DECLINED, pb.Payment.REFUNDED


@pytest.fixture
def payment_channel(service_env: dict[str, str]) -> Iterator[grpc.Channel]:
    server = payment_server.create_server(payment_settings.load(service_env))
    with serving(server) as channel:
        yield channel


@pytest.fixture
def stub(payment_channel: grpc.Channel) -> pb_grpc.PaymentServiceStub:
    # Charge, Refund and VoidCharge come from the orders service, through Envoy's internal listener.
    return pb_grpc.PaymentServiceStub(with_metadata(payment_channel, INTERNAL))


def _order() -> str:
    return f"orders/{uuid.uuid4().hex}"


def _usd(units: int, nanos: int = 0) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", units=units, nanos=nanos)


def _card(number: str = "4242424242424242") -> pb.PaymentCard:
    return pb.PaymentCard(card_number=number, exp_month=12, exp_year=VALID_YEAR, cvc="123")


def _charge_request(
    number: str = "4242424242424242", *, amount: money_pb2.Money | None = None
) -> pb.ChargeRequest:
    """A valid Charge with a fresh request_id and order."""
    return pb.ChargeRequest(
        request_id=f"charge-{uuid.uuid4().hex}",
        order=_order(),
        amount=_usd(25, 990_000_000) if amount is None else amount,
        card=_card(number),
    )


def _charge(stub: pb_grpc.PaymentServiceStub, number: str = "4242424242424242") -> pb.Payment:
    payment: pb.Payment = stub.Charge(_charge_request(number), timeout=10)
    return payment


def _payment_rows(sqlite_url: str) -> list[tuple[Any, ...]]:
    return rows(sqlite_url, "SELECT id, request_id, status FROM payments")


# --- Charge -----------------------------------------------------------------------------------------


def test_charge_with_a_good_card_is_captured(stub: pb_grpc.PaymentServiceStub) -> None:
    request = _charge_request("4242 4242 4242 4242", amount=_usd(25, 990_000_000))
    payment = stub.Charge(request, timeout=10)

    assert PAYMENT_NAME.match(payment.name), payment.name
    assert payment.status == CAPTURED
    assert payment.card_last4 == "4242"
    assert payment.decline_reason == ""
    assert payment.amount == request.amount
    assert payment.order == request.order
    assert payment.create_time.seconds > 0
    assert payment.update_time == payment.create_time


def test_any_other_luhn_valid_card_approves(stub: pb_grpc.PaymentServiceStub) -> None:
    payment = _charge(stub, "4111111111111111")
    assert payment.status == CAPTURED
    assert payment.card_last4 == "1111"


@pytest.mark.parametrize(
    ("number", "reason"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")],
)
def test_declining_test_cards_are_declined_with_a_reason(
    stub: pb_grpc.PaymentServiceStub, number: str, reason: str
) -> None:
    payment = _charge(stub, number)

    assert payment.status == DECLINED
    assert payment.decline_reason == reason
    assert payment.card_last4 == number[-4:]
    assert stub.GetPayment(pb.GetPaymentRequest(name=payment.name), timeout=10) == payment


def test_replayed_charge_returns_the_first_payment(stub: pb_grpc.PaymentServiceStub, sqlite_url: str) -> None:
    request = _charge_request()
    first = stub.Charge(request, timeout=10)

    replay = stub.Charge(request, timeout=10)

    assert replay == first
    ((row_id, row_request_id, _),) = _payment_rows(sqlite_url)
    assert (f"payments/{row_id}", row_request_id) == (first.name, request.request_id)


def test_request_id_reused_for_a_different_amount_is_already_exists(
    stub: pb_grpc.PaymentServiceStub, sqlite_url: str
) -> None:
    request = _charge_request(amount=_usd(10))
    first = stub.Charge(request, timeout=10)

    changed = pb.ChargeRequest()
    changed.CopyFrom(request)
    changed.amount.units = 11
    error = call_error(stub.Charge, changed)

    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
    assert [row[0] for row in _payment_rows(sqlite_url)] == [first.name.removeprefix("payments/")]


def test_request_id_reused_for_a_different_order_is_already_exists(stub: pb_grpc.PaymentServiceStub) -> None:
    request = _charge_request()
    stub.Charge(request, timeout=10)

    changed = pb.ChargeRequest()
    changed.CopyFrom(request)
    changed.order = _order()
    assert_error(call_error(stub.Charge, changed), grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")


# --- Charge: bad input ------------------------------------------------------------------------------


def _set_card_number(value: str) -> Callable[[pb.ChargeRequest], None]:
    def mutate(request: pb.ChargeRequest) -> None:
        request.card.card_number = value

    return mutate


def _set_exp_month(request: pb.ChargeRequest) -> None:
    request.card.exp_month = 0


def _set_expired_year(request: pb.ChargeRequest) -> None:
    request.card.exp_year = dt.date.today().year - 1


def _set_short_cvc(request: pb.ChargeRequest) -> None:
    request.card.cvc = "1"


def _clear_amount(request: pb.ChargeRequest) -> None:
    request.ClearField("amount")


def _set_zero_amount(request: pb.ChargeRequest) -> None:
    request.amount.CopyFrom(_usd(0))


def _set_lower_case_currency(request: pb.ChargeRequest) -> None:
    request.amount.currency_code = "usd"


def _set_bad_order(request: pb.ChargeRequest) -> None:
    request.order = "products/abc"


def _clear_request_id(request: pb.ChargeRequest) -> None:
    request.request_id = ""


def _set_everything_wrong(request: pb.ChargeRequest) -> None:
    # Every contract rule at once; the Luhn check runs only once the contract holds, so it is not here.
    for mutate in (
        _set_exp_month,
        _set_short_cvc,
        _set_lower_case_currency,
        _set_bad_order,
        _clear_request_id,
    ):
        mutate(request)


@pytest.mark.parametrize(
    ("mutate", "fields"),
    [
        pytest.param(_set_card_number("4242424242424241"), {"card.card_number"}, id="luhn"),
        pytest.param(_set_card_number("4242"), {"card.card_number"}, id="short-number"),
        pytest.param(_set_exp_month, {"card.exp_month"}, id="exp-month-0"),
        pytest.param(_set_expired_year, {"card.exp_year"}, id="expired"),
        pytest.param(_set_short_cvc, {"card.cvc"}, id="cvc-1"),
        pytest.param(_clear_amount, {"amount"}, id="missing-amount"),
        pytest.param(_set_zero_amount, {"amount"}, id="zero-amount"),
        pytest.param(_set_lower_case_currency, {"amount"}, id="currency-usd"),
        pytest.param(_set_bad_order, {"order"}, id="bad-order"),
        pytest.param(_clear_request_id, {"request_id"}, id="empty-request-id"),
        pytest.param(
            _set_everything_wrong,
            {
                "card.exp_month",
                "card.cvc",
                "amount",
                "order",
                "request_id",
            },
            id="all-at-once",
        ),
    ],
)
def test_bad_charge_names_exactly_the_bad_fields_and_writes_nothing(
    stub: pb_grpc.PaymentServiceStub,
    sqlite_url: str,
    mutate: Callable[[pb.ChargeRequest], None],
    fields: set[str],
) -> None:
    request = _charge_request()
    mutate(request)

    error = call_error(stub.Charge, request)

    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields=fields, reason="INVALID_ARGUMENT")
    assert _payment_rows(sqlite_url) == []


# --- Refund -----------------------------------------------------------------------------------------


def test_refund_of_a_captured_payment_refunds_it(stub: pb_grpc.PaymentServiceStub) -> None:
    payment = _charge(stub)

    refunded = stub.Refund(pb.RefundRequest(name=payment.name), timeout=10)

    assert refunded.status == REFUNDED
    assert (refunded.name, refunded.amount, refunded.order) == (payment.name, payment.amount, payment.order)
    assert refunded.create_time == payment.create_time
    assert refunded.update_time.ToDatetime() >= payment.update_time.ToDatetime()
    assert stub.GetPayment(pb.GetPaymentRequest(name=payment.name), timeout=10) == refunded


def test_refunding_twice_returns_the_refunded_payment_unchanged(stub: pb_grpc.PaymentServiceStub) -> None:
    payment = _charge(stub)
    first = stub.Refund(pb.RefundRequest(name=payment.name), timeout=10)

    second = stub.Refund(pb.RefundRequest(name=payment.name), timeout=10)

    assert second == first
    assert second.status == REFUNDED


def test_refunding_a_declined_payment_is_failed_precondition(stub: pb_grpc.PaymentServiceStub) -> None:
    payment = _charge(stub, "4000000000000002")

    error = call_error(stub.Refund, pb.RefundRequest(name=payment.name))

    assert_error(error, grpc.StatusCode.FAILED_PRECONDITION, reason="PAYMENT_NOT_REFUNDABLE")
    assert stub.GetPayment(pb.GetPaymentRequest(name=payment.name), timeout=10).status == DECLINED


def test_refunding_an_unknown_payment_is_not_found(stub: pb_grpc.PaymentServiceStub) -> None:
    error = call_error(stub.Refund, pb.RefundRequest(name=f"payments/{uuid.uuid4().hex}"))
    assert_error(error, grpc.StatusCode.NOT_FOUND, reason="PAYMENT_NOT_FOUND")


def test_refund_with_a_malformed_name_is_invalid_argument(stub: pb_grpc.PaymentServiceStub) -> None:
    error = call_error(stub.Refund, pb.RefundRequest(name="orders/abc"))
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"name"})


# --- GetPayment -------------------------------------------------------------------------------------


def test_get_payment_returns_the_charge(stub: pb_grpc.PaymentServiceStub) -> None:
    payment = _charge(stub)
    assert stub.GetPayment(pb.GetPaymentRequest(name=payment.name), timeout=10) == payment


def test_a_charge_key_replayed_for_another_buyer_does_not_answer_with_their_payment(
    stub: pb_grpc.PaymentServiceStub,
) -> None:
    request = _charge_request()
    request.user = "users/buyer1"
    first = stub.Charge(request, timeout=10)
    other = pb.ChargeRequest()
    other.CopyFrom(request)
    other.user = "users/buyer2"
    error = call_error(stub.Charge, other)
    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
    assert first.name not in (error.details() or "") and "buyer1" not in (error.details() or "")
    assert stub.Charge(request, timeout=10) == first  # the buyer's own replay still answers


def test_only_the_buyer_and_admins_read_a_payment(
    stub: pb_grpc.PaymentServiceStub, payment_channel: grpc.Channel
) -> None:
    request = _charge_request()
    request.user = "users/buyer1"
    payment = stub.Charge(request, timeout=10)
    assert payment.user == "users/buyer1"
    get = pb.GetPaymentRequest(name=payment.name)
    buyer = pb_grpc.PaymentServiceStub(with_metadata(payment_channel, as_user("buyer1")))
    assert buyer.GetPayment(get, timeout=10) == payment
    admin = pb_grpc.PaymentServiceStub(with_metadata(payment_channel, as_user("boss", "admin")))
    assert admin.GetPayment(get, timeout=10) == payment
    stranger = pb_grpc.PaymentServiceStub(with_metadata(payment_channel, as_user("someone-else")))
    assert_error(call_error(stranger.GetPayment, get), grpc.StatusCode.NOT_FOUND)  # no hint that it exists


def test_get_unknown_payment_is_not_found(stub: pb_grpc.PaymentServiceStub) -> None:
    name = f"payments/{uuid.uuid4().hex}"
    error = call_error(stub.GetPayment, pb.GetPaymentRequest(name=name))
    assert_error(error, grpc.StatusCode.NOT_FOUND, reason="PAYMENT_NOT_FOUND")
    assert name in (error.details() or "")


@pytest.mark.parametrize("name", ["", "payments/", "orders/abc", "payments/NOT_AN_ID"])
def test_get_payment_with_a_malformed_name_is_invalid_argument(
    stub: pb_grpc.PaymentServiceStub, name: str
) -> None:
    error = call_error(stub.GetPayment, pb.GetPaymentRequest(name=name))
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"name"})


# --- Card data at rest ------------------------------------------------------------------------------


def test_full_card_number_is_not_stored(stub: pb_grpc.PaymentServiceStub, sqlite_url: str) -> None:
    approved = _charge_request("4111 1111 1111 1111")
    declined = _charge_request("4000000000009995")
    for request in (approved, declined):
        stub.Charge(request, timeout=10)

    stored = database_bytes(sqlite_url)
    assert approved.request_id.encode() in stored  # the scan does see the payments...
    assert declined.request_id.encode() in stored
    for number in (b"4111111111111111", b"4111 1111 1111 1111", b"4000000000009995"):
        assert number not in stored  # ...and no card number is among them
