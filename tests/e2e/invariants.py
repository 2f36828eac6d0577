"""The books of the mesh, read from all four databases: what must hold after any amount of chaos."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from meshkit.money import Money
from tests.e2e.conftest import RunningMesh


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
