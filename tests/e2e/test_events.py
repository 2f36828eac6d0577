"""Events end to end: the real mesh (Envoy, every service on PostgreSQL, a real nats-server, a real SMTP server).

Effects are counted, not messages: the e-mails the SMTP server received and the events each stream holds per
resource (`ce-subject`), each exactly once whatever was redelivered.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from shopmesh.order.v1 import events_pb2 as order_events
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.product.v1 import events_pb2 as product_events
from shopmesh.user.v1 import events_pb2 as user_events
from shopmesh.user.v1 import user_service_pb2 as user_pb

from meshkit.events.envelope import Event
from tests.e2e import flows
from tests.e2e.conftest import ROOT, RunningMesh
from tests.e2e.observe import read_spans, sample, scrape, service_metric
from tests.support.nats import StoredEvent, publish, read_stream

pytestmark = pytest.mark.e2e

PATIENCE = 30.0


def _wait(what: str, check: Callable[[], Any], patience: float = PATIENCE) -> Any:
    deadline = time.monotonic() + patience
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _events(mesh: RunningMesh, stream: str, resource: str) -> list[StoredEvent]:
    return [e for e in read_stream(mesh.endpoints.nats, stream) if e.ce_subject == resource]


def _types(events: list[StoredEvent]) -> Counter[str]:
    return Counter(e.headers["ce-type"] for e in events)


def _mail_for(mesh: RunningMesh, resource: str, count: int = 1) -> list[Any]:
    return list(_wait(f"{count} e-mail(s) about {resource}", lambda: len(mesh.mail.about(resource)) >= count
                      and mesh.mail.about(resource)))  # fmt: skip


def _buy(mesh: RunningMesh, card: str = flows.APPROVING_CARD) -> tuple[flows.Account, order_pb.Order]:
    buyer = flows.Stubs(mesh.channel).signup()
    product = flows.Stubs(mesh.channel, mesh.admin_token).product(stock=50)
    order = buyer.api.order(product.name, 2, card=card)
    return buyer, order


def test_an_order_gives_one_confirmed_event_and_one_email_with_what_a_consumer_needs(
    mesh: RunningMesh,
) -> None:
    buyer, order = _buy(mesh)
    assert order.status == order_pb.Order.CONFIRMED
    mails = _mail_for(mesh, order.name)
    events = _wait("the OrderConfirmed event", lambda: _events(mesh, "SHOPMESH_ORDER_V1", order.name))
    assert _types(events) == {"shopmesh.order.v1.OrderConfirmed": 1}
    headers = events[0].headers
    assert headers["ce-specversion"] == "1.0" and headers["content-type"] == "application/protobuf"
    assert headers["ce-source"] == "//orders.shopmesh.dev" and headers["Nats-Msg-Id"] == headers["ce-id"]
    assert dt.datetime.fromisoformat(headers["ce-time"].replace("Z", "+00:00")).tzinfo is not None
    confirmed = order_events.OrderConfirmed.FromString(events[0].data)
    # Everything the e-mail needs, without calling back: buyer, items and prices, total, payment.
    assert confirmed.order.name == order.name and confirmed.order.user == buyer.user.name
    assert confirmed.order.total == order.total and confirmed.order.payment == order.payment
    assert [(i.product, i.quantity, i.unit_price.units) for i in confirmed.order.items] == [
        (i.product, i.quantity, i.unit_price.units) for i in order.items
    ]
    # The payment and the stock change were announced too; the buyer's account before that.
    payment = _wait("PaymentCaptured", lambda: _events(mesh, "SHOPMESH_PAYMENT_V1", order.payment))
    assert _types(payment) == {"shopmesh.payment.v1.PaymentCaptured": 1}
    user = _events(mesh, "SHOPMESH_USER_V1", buyer.user.name)
    assert _types(user) == {"shopmesh.user.v1.UserCreated": 1}
    assert user_events.UserCreated.FromString(user[0].data).user.email == buyer.user.email
    stock = _events(mesh, "SHOPMESH_PRODUCT_V1", order.items[0].product)
    changes = [product_events.ProductChanged.FromString(e.data) for e in stock]
    assert [c.change for c in changes] == [
        product_events.ProductChanged.CREATED,
        product_events.ProductChanged.STOCK,
    ]
    assert [c.product.stock for c in changes] == [50, 48]

    [mail] = mails
    assert mail["To"] == buyer.user.email and order.name in mail["Subject"] and "confirmed" in mail["Subject"]
    assert mail["Message-ID"] == f"<{headers['ce-id']}@notifications.shopmesh.dev>"
    assert "2 x Tea" in mail.get_content() and "8.00 EUR" in mail.get_content()
    time.sleep(1.0)  # a redelivery or a second relay would show by now
    assert len(mesh.mail.about(order.name)) == 1
    assert len(_events(mesh, "SHOPMESH_ORDER_V1", order.name)) == 1


def test_a_declined_card_gives_order_failed_and_its_email(mesh: RunningMesh) -> None:
    _buyer, order = _buy(mesh, card=flows.DECLINING_CARD)
    assert order.status == order_pb.Order.FAILED
    [mail] = _mail_for(mesh, order.name)
    assert "could not be completed" in mail["Subject"] and "card_declined" in mail.get_content()
    assert _types(_events(mesh, "SHOPMESH_ORDER_V1", order.name)) == {"shopmesh.order.v1.OrderFailed": 1}
    assert _events(mesh, "SHOPMESH_PAYMENT_V1", order.payment) == []  # declined: nothing captured


def test_a_cancel_gives_order_cancelled_and_payment_refunded_and_their_emails(mesh: RunningMesh) -> None:
    buyer, order = _buy(mesh)
    buyer.api.orders.CancelOrder(order_pb.CancelOrderRequest(name=order.name), timeout=30)
    mails = _mail_for(mesh, order.name, 2)
    assert sorted("cancelled" in m["Subject"] for m in mails) == [False, True]
    [refund] = _mail_for(mesh, order.payment)
    assert "refund" in refund["Subject"] and "8.00 EUR" in refund["Subject"]
    assert _types(_events(mesh, "SHOPMESH_ORDER_V1", order.name)) == {
        "shopmesh.order.v1.OrderConfirmed": 1,
        "shopmesh.order.v1.OrderCancelled": 1,
    }
    assert _types(_events(mesh, "SHOPMESH_PAYMENT_V1", order.payment)) == {
        "shopmesh.payment.v1.PaymentCaptured": 1,
        "shopmesh.payment.v1.PaymentRefunded": 1,
    }
    # Cancelling again changes nothing, so it announces nothing.
    buyer.api.orders.CancelOrder(order_pb.CancelOrderRequest(name=order.name), timeout=30)
    time.sleep(1.0)
    assert len(_events(mesh, "SHOPMESH_ORDER_V1", order.name)) == 2 and len(mesh.mail.about(order.name)) == 2


def test_a_rejected_request_publishes_nothing(mesh: RunningMesh) -> None:
    buyer = flows.Stubs(mesh.channel).signup()
    product = flows.Stubs(mesh.channel, mesh.admin_token).product(stock=1)
    _wait("the product's event", lambda: _events(mesh, "SHOPMESH_PRODUCT_V1", product.name))
    before = {
        s: len(read_stream(mesh.endpoints.nats, s)) for s in ("SHOPMESH_ORDER_V1", "SHOPMESH_PAYMENT_V1")
    }
    with pytest.raises(grpc.RpcError) as out_of_stock:
        buyer.api.order(product.name, 5)
    assert out_of_stock.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as bad_input:
        buyer.api.order(product.name, 0)
    assert bad_input.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    time.sleep(1.5)
    after = {s: len(read_stream(mesh.endpoints.nats, s)) for s in before}
    assert after == before
    # The reservation that failed took nothing, so the product announced no stock change either.
    assert len(_events(mesh, "SHOPMESH_PRODUCT_V1", product.name)) == 1
    for service in ("orders", "payments", "products"):
        assert mesh.count(service, "outbox") == 0


def test_every_products_replica_hears_each_product_change(mesh: RunningMesh) -> None:
    admin = flows.Stubs(mesh.channel, mesh.admin_token)
    received = [
        sample(scrape(a), "shopmesh_events_broadcast_received_total")
        for a in mesh.endpoints.metrics["products"]
    ]
    product = admin.product(stock=3)
    from google.protobuf import field_mask_pb2
    from shopmesh.product.v1 import product_service_pb2 as product_pb

    admin.products.UpdateProduct(
        product_pb.UpdateProductRequest(
            product=product_pb.Product(name=product.name, title="Big mug"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        timeout=10,
    )
    for address, before in zip(mesh.endpoints.metrics["products"], received, strict=True):
        _wait(
            f"{address} hearing both changes",
            lambda a=address, b=before: (
                sample(scrape(a), "shopmesh_events_broadcast_received_total") >= b + 2
            ),
        )


def _trace_id(traceparent: str) -> str:
    return traceparent.split("-")[1]


def test_a_trace_runs_from_the_gateway_through_the_queue_to_the_email_and_each_event_is_logged(
    mesh: RunningMesh,
) -> None:
    _buyer, order = _buy(mesh)
    [event] = _wait("the event", lambda: _events(mesh, "SHOPMESH_ORDER_V1", order.name))
    trace_id = _trace_id(event.headers["traceparent"])

    def complete() -> list[dict[str, Any]] | None:
        spans = [s for s in read_spans(mesh.run_dir) if s["trace_id"] == trace_id]
        by_name = {s["name"]: s for s in spans}
        if not {"publish OrderConfirmed", "process OrderConfirmed", "send e-mail"} <= set(by_name):
            return None
        # ... and the request's spans up to the gateway's (Envoy flushes its spans every second).
        by_id, span = {s["span_id"]: s for s in spans}, by_name["publish OrderConfirmed"]
        while span["parent_span_id"] in by_id:
            span = by_id[span["parent_span_id"]]
        return spans if span["parent_span_id"] == "" else None

    spans = _wait("the order's trace through the e-mail", complete)
    by_id = {s["span_id"]: s for s in spans}
    by_name = {s["name"]: s for s in spans}
    publish_span = by_name["publish OrderConfirmed"]
    # One process span per delivery: the first may have come before the buyer's UserCreated and been retried.
    deliveries = [s for s in spans if s["name"] == "process OrderConfirmed"]
    assert all(
        d["parent_span_id"] == publish_span["span_id"] for d in deliveries
    )  # children of the producer's
    process = by_id[by_name["send e-mail"]["parent_span_id"]]
    assert process in deliveries  # the delivery that owed the e-mail is the one that sent it
    assert publish_span["service"] == "shopmesh-orders" and process["service"] == "shopmesh-notifications"
    # ... and the producer's span hangs under the request that came through the gateway.
    root = publish_span
    while root["parent_span_id"] in by_id:
        root = by_id[root["parent_span_id"]]
    assert root["service"] == "shopmesh-envoy", root

    def logged() -> dict[str, Any] | None:
        for path in (mesh.run_dir / "logs").glob("notifications-*.log"):
            for line in path.read_text().splitlines():
                if event.headers["ce-id"] in line and line.startswith("{"):
                    entry = json.loads(line)
                    if entry.get("event") == "consume":
                        return dict(entry)
        return None

    # `make trace` shows it, from the gateway to the e-mail.
    shown = subprocess.run(
        [sys.executable, "-m", "meshctl", "trace", "--run-dir", str(mesh.run_dir), "--trace", trace_id,
         "--width", "160"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    for text in ("public POST", "OrderService/CreateOrder", "publish OrderConfirmed", "process OrderConfirmed",
                 "send e-mail", "notifications-"):  # fmt: skip
        assert text in shown.stdout, f"{text!r} missing from:\n{shown.stdout}"

    entry = _wait("the consumer's log line", logged)
    assert entry["trace_id"] == trace_id and entry["ce_type"] == "shopmesh.order.v1.OrderConfirmed"
    assert entry["outcome"] == "processed"


def _ce_headers(message_type: str, resource: str, event_id: str = "") -> dict[str, str]:
    event_id = event_id or uuid.uuid4().hex
    return Event(
        id=event_id, type=message_type, source="//tests.shopmesh.dev", subject=resource,
        time=dt.datetime.now(dt.UTC), data=b"",
    ).headers()  # fmt: skip


def _dead_letters(mesh: RunningMesh, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SVC_NOTIFICATION_DATABASE_URL": mesh.db_urls["notifications"]}
    return subprocess.run(
        [sys.executable, "-m", "svc_notification", "dead-letters", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_poison_events_are_parked_counted_listed_and_replayed_and_never_block_the_rest(
    mesh: RunningMesh,
) -> None:
    parked_before = service_metric(mesh, "notifications", "shopmesh_events_dead_letters_total")
    # An order of a buyer the notifications service never heard of: it cannot be e-mailed, delivery after
    # delivery, until it is parked.
    stranger = f"users/{uuid.uuid4().hex}"
    order = order_pb.Order(name=f"orders/{uuid.uuid4().hex}", user=stranger, status=order_pb.Order.CONFIRMED)
    poison = order_events.OrderConfirmed(order=order)
    url, subject = mesh.endpoints.nats, "shopmesh.order.v1.OrderConfirmed"
    publish(url, subject, poison.SerializeToString(), _ce_headers(subject, order.name))
    # Unreadable ones: a body that is not the message, an unknown ce-type, no CloudEvents headers at all.
    garbage = f"orders/{uuid.uuid4().hex}"
    publish(url, subject, b"\xff\xfe not protobuf", _ce_headers(subject, garbage))
    publish(url, subject, b"", _ce_headers("shopmesh.order.v1.NoSuchEvent", garbage))
    publish(url, subject, b"hello", {})
    # A good order right behind them is e-mailed at once.
    _buyer, good = _buy(mesh)
    _mail_for(mesh, good.name)

    _wait("4 dead letters", lambda: service_metric(mesh, "notifications", "shopmesh_events_dead_letters_total")
          >= parked_before + 4)  # fmt: skip
    listed = _dead_letters(mesh, "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    stranger_row = next(r for r in rows if "is not known yet" in r[-1] and stranger in r[-1])
    assert "deliveries=4" in stranger_row  # SHOPMESH_EVENTS_MAX_DELIVER in the mesh's environment
    assert sum("not a shopmesh.order.v1.OrderConfirmed" in r[-1] or "body is not" in r[-1] for r in rows) >= 1
    assert any("unknown event type 'shopmesh.order.v1.NoSuchEvent'" in r[-1] for r in rows)
    assert any("not a CloudEvent" in r[-1] for r in rows)

    still = _dead_letters(mesh, "replay", stranger_row[0])
    assert still.returncode == 1 and "still failing" in still.stderr
    # The account arrives after all; the replay then e-mails the order, once.
    account = user_pb.User(name=stranger, email="late@example.com", display_name="Late")
    publish(url, "shopmesh.user.v1.UserCreated", user_events.UserCreated(user=account).SerializeToString(),
            _ce_headers("shopmesh.user.v1.UserCreated", stranger))  # fmt: skip
    _wait("the late account", lambda: mesh.sql("notifications", "SELECT 1 FROM recipients WHERE user_id = :u",
                                               u=stranger.removeprefix("users/")))  # fmt: skip
    replayed = _dead_letters(mesh, "replay", stranger_row[0])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.split() == [stranger_row[0], "processed"]
    [mail] = _mail_for(mesh, order.name)
    assert mail["To"] == "late@example.com"
    assert stranger_row[0] not in [
        line.split("\t")[0] for line in _dead_letters(mesh, "list").stdout.splitlines()
    ]
    assert _dead_letters(mesh, "replay", stranger_row[0]).returncode == 1  # gone


def _order_loop(mesh: RunningMesh, stop: threading.Event, placed: list[str], failures: list[str]) -> None:
    buyer = flows.Stubs(mesh.channel).signup()
    product = flows.Stubs(mesh.channel, mesh.admin_token).product(stock=100_000)
    while not stop.is_set():
        request = order_pb.CreateOrderRequest(
            request_id=str(uuid.uuid4()),
            order=order_pb.Order(user=buyer.user.name, items=[order_pb.OrderItem(product=product.name, quantity=1)]),
            payment=payment_pb.PaymentCard(card_number=flows.APPROVING_CARD, exp_month=12, exp_year=flows.EXP_YEAR,
                                           cvc="123"),
        )  # fmt: skip
        try:
            placed.append(buyer.api.orders.CreateOrder(request, timeout=30).name)
        except grpc.RpcError as exc:
            failures.append(f"{exc.code().name}: {exc.details()}")


def test_broker_down_for_ten_seconds_under_load_fails_no_order_and_loses_or_doubles_no_event(
    mesh: RunningMesh,
) -> None:
    stop, placed, failures = threading.Event(), [], []
    threads = [threading.Thread(target=_order_loop, args=(mesh, stop, placed, failures)) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    mesh.launcher.kill("nats", signal.SIGTERM)
    down_at = len(placed)
    time.sleep(10)
    during = len(placed) - down_at
    # The consumer dies mid-stream too, and a relay: effects must still be exactly once.
    mesh.launcher.restart("nats")
    time.sleep(1)
    mesh.launcher.kill("notifications-0")
    mesh.launcher.kill("orders-1")
    time.sleep(1)
    mesh.launcher.restart("notifications-0")
    mesh.launcher.restart("orders-1")
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [], failures[:5]
    assert during > 0, "no order was placed while the broker was down"

    settled_from = time.monotonic()
    _wait("every outbox drained", lambda: sum(mesh.count(s, "outbox") for s in ("orders", "payments", "products",
                                                                                 "users")) == 0, 60)  # fmt: skip
    drained = time.monotonic() - settled_from
    _wait("an e-mail for every order", lambda: all(mesh.mail.about(name) for name in placed), 90)
    mailed = time.monotonic() - settled_from
    time.sleep(2)  # redeliveries in flight would show by now
    confirmed = Counter(
        e.ce_subject for e in read_stream(mesh.endpoints.nats, "SHOPMESH_ORDER_V1", "OrderConfirmed")
    )
    assert {name: confirmed[name] for name in placed} == dict.fromkeys(placed, 1)
    # One e-mail per order. The one window no database closes: the SMTP server took a message and the mailer
    # was killed before stamping it sent; that one is sent again, with the same Message-ID (receivers drop it).
    ids = {name: {m["Message-ID"] for m in mesh.mail.about(name)} for name in placed}
    assert {name: len(found) for name, found in ids.items()} == dict.fromkeys(placed, 1)
    resent = sum(len(mesh.mail.about(name)) - 1 for name in placed)
    assert resent <= 1, f"{resent} e-mails sent twice; one mailer was killed once"
    print(f"\nbroker outage: {len(placed)} orders, {during} while nats-server was down, 0 failed; "
          f"one OrderConfirmed and one e-mail each ({resent} resent by the killed mailer); outboxes empty "
          f"{drained:.1f} s and every e-mail sent {mailed:.1f} s after the load stopped")  # fmt: skip
