"""The books of the mesh, read from all four databases: what must hold after any amount of chaos."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from meshkit.money import Money
from tests.e2e.conftest import RunningMesh
from tests.support.nats import read_stream


@dataclass
class Report:
    checked_orders: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.problems.append(problem)


def check_books(mesh: RunningMesh, initial_stock: dict[str, int]) -> Report:
    """Every invariant of the issue, over every order, payment, reservation and the given products."""
    report = Report()
    orders = {
        f"orders/{row.id}": row
        for row in mesh.sql(
            "orders", "SELECT id, status, total_currency, total_units, total_nanos FROM orders"
        )
    }
    report.checked_orders = len(orders)
    items: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in mesh.sql("orders", "SELECT order_id, product_id, quantity FROM order_items"):
        items[f"orders/{row.order_id}"].append((row.product_id, row.quantity))
    payments: dict[str, list[tuple[str, Money]]] = defaultdict(list)
    for row in mesh.sql("payments", "SELECT order_name, status, currency, units, nanos FROM payments"):
        payments[row.order_name].append((row.status, Money.of(row.currency, row.units, row.nanos)))
    reservations = {row.id: row.state for row in mesh.sql("products", "SELECT id, state FROM reservations")}
    reserved_units: Counter[str] = Counter()
    for row in mesh.sql(
        "products",
        "SELECT i.product_id, i.quantity FROM reservation_items i "
        "JOIN reservations r ON r.id = i.reservation_id WHERE r.state = 'RESERVED'",
    ):
        reserved_units[row.product_id] += row.quantity

    confirmed_units: Counter[str] = Counter()
    for name, order in orders.items():
        captured = [amount for status, amount in payments.get(name, []) if status == "CAPTURED"]
        reservation = reservations.get(f"order:{order.id}")
        if order.status == "PENDING":
            report.fail(f"{name} is still PENDING")
        elif order.status == "CONFIRMED":
            total = Money.of(order.total_currency, order.total_units, order.total_nanos)
            if captured != [total]:
                report.fail(f"{name} is CONFIRMED with captures {captured}, expected exactly [{total}]")
            if reservation != "RESERVED":
                report.fail(f"{name} is CONFIRMED but its reservation is {reservation}")
            for product, quantity in items[name]:
                confirmed_units[product] += quantity
        else:  # FAILED, CANCELLED
            if captured:
                report.fail(f"{name} is {order.status} but still has a capture {captured}")
            if reservation == "RESERVED":
                report.fail(f"{name} is {order.status} but its stock is still reserved")
    for name in payments.keys() - orders.keys():
        report.fail(f"payments exist for {name}, which is not an order")
    for reservation_id, state in reservations.items():
        owner = f"orders/{reservation_id.removeprefix('order:')}"
        if state == "RESERVED" and (owner not in orders or orders[owner].status != "CONFIRMED"):
            report.fail(f"reservation {reservation_id} holds stock without a CONFIRMED order")
    if reserved_units != confirmed_units:
        report.fail(f"reserved units {dict(reserved_units)} != confirmed units {dict(confirmed_units)}")
    stock = {row.id: row.stock for row in mesh.sql("products", "SELECT id, stock FROM products")}
    for product, initial in initial_stock.items():
        if initial != stock[product] + confirmed_units[product]:
            report.fail(
                f"products/{product}: initial {initial} != current {stock[product]} + confirmed {confirmed_units[product]}"
            )
    return report


EXPECTED_EVENTS = {
    "CONFIRMED": {"shopmesh.order.v1.OrderConfirmed": 1},
    "FAILED": {"shopmesh.order.v1.OrderFailed": 1},
    "CANCELLED": {"shopmesh.order.v1.OrderConfirmed": 1, "shopmesh.order.v1.OrderCancelled": 1},
}


def check_events(mesh: RunningMesh, mailer_kills: int) -> Report:
    """The asynchronous books: every final order announced exactly once per state it reached, one e-mail per
    announcement (by Message-ID), nothing about orders that do not exist, every outbox empty.

    An e-mail may reach the SMTP server twice only when a notifications replica was killed between the SMTP
    server's acceptance and the mailer's stamp (at most one per kill), and then with the same Message-ID."""
    report = Report()
    orders = {f"orders/{row.id}": row.status for row in mesh.sql("orders", "SELECT id, status FROM orders")}
    report.checked_orders = len(orders)
    events: dict[str, Counter[str]] = defaultdict(Counter)
    for event in read_stream(mesh.endpoints.nats, "SHOPMESH_ORDER_V1"):
        events[event.ce_subject][event.headers["ce-type"]] += 1
    for name, status in orders.items():
        if dict(events.get(name, {})) != EXPECTED_EVENTS.get(status, {}):
            report.fail(f"{name} is {status} with events {dict(events.get(name, {}))}")
    for name in events.keys() - orders.keys():
        report.fail(f"events {dict(events[name])} for {name}, which is not an order")
    mails: dict[str, Counter[str]] = defaultdict(Counter)
    for message in list(mesh.mail.messages):
        mails[str(message["X-Shopmesh-Resource"])][str(message["Message-ID"])] += 1
    for name, status in orders.items():
        wanted = sum(EXPECTED_EVENTS.get(status, {}).values())
        if len(mails.get(name, {})) != wanted:
            report.fail(
                f"{name} is {status} with {len(mails.get(name, {}))} distinct e-mails, expected {wanted}"
            )
    for name in {n for n in mails if n.startswith("orders/")} - orders.keys():
        report.fail(f"e-mails about {name}, which is not an order")
    resent = sum(count - 1 for by_id in mails.values() for count in by_id.values())
    if resent > mailer_kills:
        report.fail(f"{resent} e-mails sent twice, more than the {mailer_kills} mailer kills explain")
    for service in ("users", "products", "orders", "payments"):
        if backlog := mesh.count(service, "outbox"):
            report.fail(f"{service}' outbox still holds {backlog} events")
    return report
