"""Checkout (the CreateOrder saga, cancel, list) against in-memory services, on SQLite."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc
import pytest
import sqlalchemy as sa
from shopmesh.order.v1 import order_service_pb2 as pb
from shopmesh.order.v1 import order_service_pb2_grpc as pb_grpc
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.user.v1 import user_service_pb2 as user_pb
from shopmesh.user.v1 import user_service_pb2_grpc as user_grpc

from meshkit.cards import Card
from meshkit.db import open_database
from meshkit.errors import AlreadyExists, DependencyFailed, FailedPrecondition, NotFound, Unavailable
from meshkit.events import create_outbox
from meshkit.identity import Identity
from meshkit.money import Money
from meshkit.server import ServiceServer
from svc_order import domain
from svc_order import settings as order_settings
from svc_order.clients import GrpcDirectory
from svc_order.models import MIGRATIONS, metadata
from svc_order.servicer import OrderServicer
from svc_order.services import Checkout
from tests.support.grpc_testing import as_user, assert_error, call_error, serving, with_metadata
from tests.unit.fakes import FakeCatalog, FakeDirectory, FakePayments

U1 = Identity(user_id="u1")
GOOD_CARD = Card("4242424242424242", 12, 2099, "123")
DECLINING_CARD = Card("4000000000000002", 12, 2099, "123")


class Clock:
    """A settable clock, so tests can let leases run out."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class World:
    checkout: Checkout
    catalog: FakeCatalog
    payments: FakePayments
    directory: FakeDirectory
    engine: sa.Engine
    clock: Clock
    channel: grpc.Channel | None = None
    """The in-process server's channel, once the stub fixture started it."""

    def rows(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def world(sqlite_url: str) -> World:
    db = open_database(sqlite_url, metadata, MIGRATIONS, "test")
    catalog, payments, directory = FakeCatalog(), FakePayments(), FakeDirectory({"u1", "u2"})
    catalog.add("mug", 5, Money.of("USD", 12, 500_000_000))
    catalog.add("tea", 100, Money.of("USD", 3))
    catalog.add("yen", 100, Money.of("JPY", 300))
    clock = Clock()
    checkout = Checkout(db, catalog, payments, directory, lease=20, clock=clock)
    return World(checkout, catalog, payments, directory, db.engine, clock)


def place(
    world: World, *lines: tuple[str, int], card: Card = GOOD_CARD, user: str = "u1", rid: str = ""
) -> domain.Order:
    request_id = rid or uuid.uuid4().hex
    return world.checkout.place_order(request_id, user, [domain.OrderLine(p, q) for p, q in lines], card)


def test_confirmed_order_is_priced_by_the_catalog(world: World) -> None:
    order = place(world, ("mug", 2), ("tea", 3))
    assert order.status == domain.CONFIRMED
    assert order.total == Money.of("USD", 34)
    assert {line.product_id: line.unit_price for line in order.lines} == {
        "mug": Money.of("USD", 12, 500_000_000),
        "tea": Money.of("USD", 3),
    }
    assert world.catalog.stock["mug"] == 3
    assert world.payments.amounts[order.payment_id] == Money.of("USD", 34)
    assert world.checkout.get_order(order.id, U1) == order


def test_declined_card_fails_the_order_and_releases_stock(world: World) -> None:
    order = place(world, ("mug", 2), card=DECLINING_CARD)
    assert order.status == domain.FAILED
    assert order.failure_reason == "payment_declined: card_declined"
    assert order.payment_id
    assert world.catalog.stock["mug"] == 5
    assert world.catalog.released == [order.reservation_id]
    assert world.payments.captured() == []


def test_out_of_stock_is_failed_precondition_and_leaves_no_order(world: World) -> None:
    with pytest.raises(FailedPrecondition):
        place(world, ("mug", 6))
    assert (world.rows("orders"), world.rows("order_items")) == (0, 0)
    assert world.payments.charges == {}


def test_unknown_product_is_not_found_and_leaves_no_order(world: World) -> None:
    with pytest.raises(NotFound):
        place(world, ("mug", 1), ("ghost", 1))
    assert world.rows("orders") == 0
    assert world.catalog.stock["mug"] == 5


def test_unknown_user_is_not_found_before_anything_happens(world: World) -> None:
    with pytest.raises(NotFound, match="users/nobody"):
        place(world, ("mug", 1), user="nobody")
    assert world.rows("orders") == 0
    assert world.catalog.reservations == {}


def test_replay_returns_the_first_order_and_charges_once(world: World) -> None:
    first = place(world, ("mug", 1), rid="same")
    again = place(world, ("mug", 1), rid="same")
    assert again == first
    assert len(world.payments.charges) == 1
    assert world.catalog.stock["mug"] == 4
    assert world.rows("orders") == 1


def test_a_replay_needs_no_answer_from_the_users_service(world: World) -> None:
    first = place(world, ("mug", 1), rid="same")
    world.directory.users.clear()  # it no longer knows the buyer (or cannot be reached): the orders DB answers
    assert place(world, ("mug", 1), rid="same") == first
    with pytest.raises(NotFound, match="users/u1"):
        place(world, ("mug", 1), rid="another")
    assert len(world.payments.charges) == 1


def test_request_id_reused_for_another_order_is_already_exists(world: World) -> None:
    place(world, ("mug", 1), rid="same")
    with pytest.raises(AlreadyExists, match="already used"):
        place(world, ("mug", 2), rid="same")


def test_a_request_id_belongs_to_its_buyer(world: World) -> None:
    """Idempotency keys are per buyer: Bob's request with the id Ann used is simply Bob's order."""
    ann = place(world, ("mug", 1), rid="shared", user="u1")
    bob = place(world, ("tea", 2), rid="shared", user="u2")
    assert bob.id != ann.id and bob.user_id == "u2" and bob.status == domain.CONFIRMED
    assert bob.reservation_id != ann.reservation_id and bob.charge_request_id != ann.charge_request_id
    assert len(world.payments.charges) == 2 and world.catalog.stock == {"mug": 4, "tea": 98, "yen": 100}
    assert place(world, ("tea", 2), rid="shared", user="u2") == bob  # Bob's replay: Bob's order
    assert place(world, ("mug", 1), rid="shared", user="u1") == ann
    assert len(world.payments.charges) == 2
    with pytest.raises(AlreadyExists) as reused:  # Bob's reuse for something else names Bob's order alone
        place(world, ("mug", 1), rid="shared", user="u2")
    assert reused.value.reason == "REQUEST_ID_REUSED"
    assert f"orders/{bob.id}" in reused.value.message and ann.id not in reused.value.message
    assert reused.value.metadata == {"request_id": "shared", "order": f"orders/{bob.id}"}


def test_two_buyers_racing_with_one_request_id_each_get_their_order(world: World) -> None:
    with futures.ThreadPoolExecutor(8) as pool:
        placed = list(
            pool.map(lambda i: place(world, ("tea", 1), rid="race", user=f"u{1 + i % 2}"), range(8))
        )
    assert {o.user_id: o.id for o in placed} == {o.user_id: o.id for o in placed[:2]}
    assert len({o.id for o in placed}) == 2 and world.rows("orders") == 2
    assert len(world.payments.charges) == 2


def _old_schema_ddl(engine: sa.Engine) -> list[str]:
    """The orders tables as release 2 created them: request_id unique across all buyers."""
    from sqlalchemy.schema import CreateIndex, CreateTable

    from svc_order.models import order_items, orders

    ddl = [str(CreateTable(t).compile(engine)) for t in (orders, order_items)]
    ddl[0] = ddl[0].replace(
        "CONSTRAINT orders_user_request UNIQUE (user_id, request_id)", "UNIQUE (request_id)"
    )
    assert "UNIQUE (request_id)" in ddl[0]
    return ddl + [str(CreateIndex(i).compile(engine)) for i in orders.indexes]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_scopes_request_ids_by_buyer_and_keeps_every_order(
    backend: str, sqlite_url: str, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url
    if backend == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"orders_mig_{uuid.uuid4().hex[:8]}")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        for statement in _old_schema_ddl(engine):
            conn.execute(sa.text(statement))
        conn.execute(
            sa.text("CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)")
        )
        conn.execute(sa.text("INSERT INTO schema_version VALUES (1, 2)"))
        conn.execute(
            sa.text(
                "INSERT INTO orders (id, request_id, fingerprint, user_id, status, payment_id, failure_reason, "
                "create_time, update_time, cancel_requested) VALUES ('o1', 'shared', 'f', 'u1', 'CONFIRMED', "
                "'p1', '', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', false)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO order_items (order_id, product_id, quantity, title) VALUES ('o1', 'mug', 1, 'Mug')"
            )
        )
        create_outbox(conn, metadata)
    engine.dispose()
    db = open_database(url, metadata, MIGRATIONS, "test")
    catalog, payments, directory = FakeCatalog(), FakePayments(), FakeDirectory({"u1", "u2"})
    catalog.add("mug", 5, Money.of("USD", 12, 500_000_000))
    checkout = Checkout(db, catalog, payments, directory)
    kept = checkout.get_order("o1", Identity(internal=True))
    assert [(x.product_id, x.quantity) for x in kept.lines] == [("mug", 1)]
    bob = checkout.place_order("shared", "u2", [domain.OrderLine("mug", 1)], GOOD_CARD)
    assert bob.status == domain.CONFIRMED and bob.id != "o1"
    with db.transaction() as conn:
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(
                sa.text(
                    "INSERT INTO orders (id, request_id, fingerprint, user_id, status, payment_id, "
                    "failure_reason, create_time, update_time, cancel_requested) VALUES ('o3', 'shared', 'f', "
                    "'u2', 'PENDING', '', '', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', false)"
                )
            )
    with db.transaction() as conn:  # deleting an order still takes its items with it
        conn.execute(sa.text("DELETE FROM orders WHERE id = 'o1'"))
        assert conn.execute(sa.text("SELECT count(*) FROM order_items WHERE order_id = 'o1'")).scalar() == 0
    db.dispose()


def test_rejected_request_id_can_be_used_again(world: World) -> None:
    with pytest.raises(FailedPrecondition):
        place(world, ("mug", 9), rid="retry-me")
    assert place(world, ("mug", 1), rid="retry-me").status == domain.CONFIRMED


def test_mixed_currencies_are_refused_and_the_stock_released(world: World) -> None:
    with pytest.raises(FailedPrecondition, match="currencies"):
        place(world, ("mug", 1), ("yen", 1))
    assert world.rows("orders") == 0
    assert world.catalog.stock == {"mug": 5, "tea": 100, "yen": 100}


def test_catalog_outage_is_unavailable_and_settled_when_it_returns(world: World) -> None:
    world.catalog.down = True
    with pytest.raises(Unavailable):
        place(world, ("mug", 1))
    (order,) = world.checkout.list_orders(None, None, 10)[0]
    assert order.status == domain.PENDING  # whether stock was taken is unknown until products answers
    world.catalog.down = False
    world.clock.advance(21)
    assert world.checkout.recover_stranded() == 1
    assert world.rows("orders") == 0
    assert world.catalog.stock["mug"] == 5
    assert world.payments.captured() == []


def test_payment_outage_is_unavailable_releases_stock_and_is_settled_later(world: World) -> None:
    world.payments.down = True
    with pytest.raises(Unavailable, match="payments"):
        place(world, ("mug", 2), rid="while-down")
    assert world.catalog.stock["mug"] == 5  # no stock stays reserved
    (pending,) = world.checkout.list_orders(None, None, 10)[0]
    assert pending.status == domain.PENDING  # whether it charged is unknown until payments answers

    world.payments.down = False
    assert world.checkout.recover_stranded() == 0  # its lease has not run out
    world.clock.advance(21)
    assert world.checkout.recover_stranded() == 1
    assert world.rows("orders") == 0  # nothing was charged: forgotten
    assert pending.charge_request_id in world.payments.voided

    retried = place(world, ("mug", 2), rid="while-down")
    assert retried.status == domain.CONFIRMED and retried.id != pending.id
    assert world.catalog.stock["mug"] == 3


def test_a_lost_charge_reply_still_confirms_the_order(world: World) -> None:
    world.payments.lose_replies = True
    order = place(world, ("mug", 1))
    assert order.status == domain.CONFIRMED
    assert len(world.payments.charges) == 1
    assert world.catalog.stock["mug"] == 4


def test_a_charge_timeout_that_never_charged_leaves_nothing(world: World) -> None:
    world.payments.fail_with = Unavailable("the payments service is unavailable: upstream request timeout")
    with pytest.raises(Unavailable):
        place(world, ("mug", 1), rid="timed-out")
    assert world.rows("orders") == 0
    assert world.catalog.stock["mug"] == 5
    world.payments.fail_with = None
    assert place(world, ("mug", 1), rid="timed-out").status == domain.CONFIRMED


def _strand(world: World, *, charged: bool) -> domain.Order:
    """An order whose process died after reserving (and, if `charged`, after capturing)."""
    world.catalog.down = world.payments.down = True
    with pytest.raises(Unavailable):
        place(world, ("tea", 4), rid="crashed")
    (order,) = world.checkout.list_orders(None, None, 10)[0]
    world.catalog.down = world.payments.down = False
    world.catalog.reserve(order.reservation_id, order.lines)
    if charged:
        world.payments.charge(order.charge_request_id, f"orders/{order.id}", Money.of("USD", 12), GOOD_CARD)
    return order


def test_recovery_confirms_an_order_that_was_charged_before_the_crash(world: World) -> None:
    order = _strand(world, charged=True)
    world.clock.advance(21)
    assert world.checkout.recover_stranded() == 1
    recovered = world.checkout.get_order(order.id, U1)
    assert recovered.status == domain.CONFIRMED and recovered.payment_id
    assert world.catalog.stock["tea"] == 96


def test_recovery_gives_back_the_stock_of_an_order_never_charged(world: World) -> None:
    order = _strand(world, charged=False)
    world.clock.advance(21)
    assert world.checkout.recover_stranded() == 1
    assert world.rows("orders") == 0
    assert world.catalog.stock["tea"] == 100
    with pytest.raises(FailedPrecondition, match="voided"):  # a late charge cannot capture
        world.payments.charge(order.charge_request_id, "orders/x", Money.of("USD", 1), GOOD_CARD)


def test_a_replay_takes_over_a_pending_order(world: World) -> None:
    order = _strand(world, charged=False)
    resumed = place(world, ("tea", 4), rid="crashed")
    assert resumed.id == order.id and resumed.status == domain.CONFIRMED
    assert len(world.payments.charges) == 1
    assert world.catalog.stock["tea"] == 96


def test_an_interrupted_cancel_is_finished_by_recovery(world: World) -> None:
    order = place(world, ("mug", 2))
    world.catalog.down = True
    with pytest.raises(Unavailable):
        world.checkout.cancel_order(order.id, U1)
    half = world.checkout.get_order(order.id, U1)
    assert half.status == domain.CONFIRMED and half.cancel_requested
    world.catalog.down = False
    world.clock.advance(21)
    assert world.checkout.recover_stranded() == 1
    assert world.checkout.get_order(order.id, U1).status == domain.CANCELLED
    assert world.catalog.stock["mug"] == 5
    assert world.payments.refunded == [order.payment_id]


def test_cancel_refunds_releases_and_is_idempotent(world: World) -> None:
    order = place(world, ("mug", 2))
    cancelled = world.checkout.cancel_order(order.id, U1)
    assert cancelled.status == domain.CANCELLED
    assert world.payments.refunded == [order.payment_id]
    assert world.catalog.stock["mug"] == 5
    assert world.checkout.cancel_order(order.id, U1) == cancelled
    assert world.payments.refunded == [order.payment_id]


def test_only_confirmed_orders_can_be_cancelled(world: World) -> None:
    failed = place(world, ("mug", 1), card=DECLINING_CARD)
    with pytest.raises(FailedPrecondition, match="FAILED"):
        world.checkout.cancel_order(failed.id, U1)
    with pytest.raises(NotFound):
        world.checkout.cancel_order("0123abcd", U1)


def test_list_is_newest_first_per_user_with_keyset_pages(world: World) -> None:
    mine = [place(world, ("tea", 1), user="u1").id for _ in range(5)]
    place(world, ("tea", 1), user="u2")
    first, after = world.checkout.list_orders("u1", None, 2)
    second, after2 = world.checkout.list_orders("u1", after, 2)
    third, end = world.checkout.list_orders("u1", after2, 2)
    assert [o.id for o in first + second + third] == mine[::-1]
    assert end is None


# -- the servicer: request validation through a real (in-process) gRPC server --


@pytest.fixture
def stub(world: World, service_env: dict[str, str]) -> Iterator[pb_grpc.OrderServiceStub]:
    settings = order_settings.load(service_env)
    servicer = OrderServicer(world.checkout, today=lambda: dt.date(2026, 6, 1))
    db = open_database(settings.server.database_url, metadata, MIGRATIONS, "test")
    server = ServiceServer(
        settings.server,
        db=db,
        services=["shopmesh.order.v1.OrderService"],
        register=lambda s: pb_grpc.add_OrderServiceServicer_to_server(servicer, s),
    )
    with serving(server) as channel:
        world.channel = channel
        yield pb_grpc.OrderServiceStub(with_metadata(channel, as_user("u1")))


def order_request(quantity: int = 1) -> pb.CreateOrderRequest:
    return pb.CreateOrderRequest(
        request_id=uuid.uuid4().hex,
        order=pb.Order(user="users/u1", items=[pb.OrderItem(product="products/mug", quantity=quantity)]),
        payment=payment_pb.PaymentCard(
            card_number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"
        ),
    )


def test_create_order_over_grpc_returns_the_order(stub: pb_grpc.OrderServiceStub) -> None:
    order = stub.CreateOrder(order_request())
    assert order.status == pb.Order.CONFIRMED
    assert order.total.units == 12 and order.total.nanos == 500_000_000
    assert order.items[0].unit_price.currency_code == "USD"
    assert order.payment.startswith("payments/")
    assert stub.GetOrder(pb.GetOrderRequest(name=order.name)) == order


def test_every_bad_field_is_named(stub: pb_grpc.OrderServiceStub, world: World) -> None:
    request = pb.CreateOrderRequest(
        request_id="white space",
        order=pb.Order(
            user="user/1",
            items=[
                pb.OrderItem(product="products/mug", quantity=-1),
                pb.OrderItem(product="products/mug", quantity=1001),
                pb.OrderItem(product="mug", quantity=1),
            ],
        ),
        payment=payment_pb.PaymentCard(card_number="4242424242424241", exp_month=5, exp_year=2026, cvc="12"),
    )
    assert_error(
        call_error(stub.CreateOrder, request),
        grpc.StatusCode.INVALID_ARGUMENT,
        # The contract's rules; the duplicate product, the Luhn check and the expiry come once those hold.
        fields={
            "request_id",
            "order.user",
            "order.items[0].quantity",
            "order.items[1].quantity",
            "order.items[2].product",
            "payment.cvc",
        },
    )
    assert world.rows("orders") == 0


def test_a_card_that_fails_the_luhn_check_or_expired_is_named(stub: pb_grpc.OrderServiceStub) -> None:
    request = order_request()
    request.payment.card_number, request.payment.exp_month, request.payment.exp_year = (
        "4242424242424241",
        5,
        2026,
    )
    assert_error(
        call_error(stub.CreateOrder, request),
        grpc.StatusCode.INVALID_ARGUMENT,
        fields={"payment.card_number", "payment.exp_year"},
    )


def test_the_buyer_is_the_caller(stub: pb_grpc.OrderServiceStub, world: World) -> None:
    request = order_request()
    request.order.user = ""
    assert stub.CreateOrder(request).user == "users/u1"
    request = order_request()
    request.order.user = "users/u2"
    assert_error(
        call_error(stub.CreateOrder, request), grpc.StatusCode.PERMISSION_DENIED, reason="NOT_YOUR_ORDER"
    )
    anonymous = pb_grpc.OrderServiceStub(world.channel)
    assert_error(call_error(anonymous.CreateOrder, order_request()), grpc.StatusCode.UNAUTHENTICATED)


def test_another_users_order_is_not_found(stub: pb_grpc.OrderServiceStub) -> None:
    order = stub.CreateOrder(order_request())
    stranger = as_user("u2")
    for method, request in (
        (stub.GetOrder, pb.GetOrderRequest(name=order.name)),
        (stub.CancelOrder, pb.CancelOrderRequest(name=order.name)),
    ):
        assert_error(
            call_error(method, request, stranger), grpc.StatusCode.NOT_FOUND, reason="ORDER_NOT_FOUND"
        )
    assert_error(
        call_error(stub.ListOrders, pb.ListOrdersRequest(user="users/u1"), stranger),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert stub.GetOrder(pb.GetOrderRequest(name=order.name), metadata=as_user("boss", "admin")) == order


def test_missing_items_and_payment_are_invalid(stub: pb_grpc.OrderServiceStub) -> None:
    request = pb.CreateOrderRequest(order=pb.Order(user="users/u1"))
    assert_error(
        call_error(stub.CreateOrder, request),
        grpc.StatusCode.INVALID_ARGUMENT,
        fields={"order.items", "payment"},
    )


def test_out_of_stock_over_grpc_keeps_its_reason(stub: pb_grpc.OrderServiceStub) -> None:
    assert_error(
        call_error(stub.CreateOrder, order_request(quantity=50)),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_STOCK",
    )


def test_list_orders_rejects_a_token_from_another_filter(stub: pb_grpc.OrderServiceStub) -> None:
    for _ in range(3):
        stub.CreateOrder(order_request())
    page = stub.ListOrders(pb.ListOrdersRequest(user="users/u1", page_size=1))
    assert len(page.orders) == 1 and page.next_page_token
    error = call_error(
        stub.ListOrders,
        pb.ListOrdersRequest(user="users/u2", page_token=page.next_page_token),
        as_user("boss", "admin"),  # may list anyone's orders
    )
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"page_token"})


def test_a_dependency_failure_is_reported_as_such_and_leaves_nothing(world: World) -> None:
    world.catalog.fail_with = DependencyFailed("the products service failed: INVALID_ARGUMENT: bad")
    with pytest.raises(DependencyFailed):
        place(world, ("mug", 1))
    assert world.rows("orders") == 0


def test_the_directory_asks_the_users_service_about_a_buyer_once() -> None:
    """GrpcDirectory remembers a user it found (users are never deleted), but not one it did not find."""
    asked: list[str] = []

    class Users(user_grpc.UserServiceServicer):
        def GetUser(self, request: user_pb.GetUserRequest, context: grpc.ServicerContext) -> user_pb.User:
            asked.append(request.name)
            if request.name != "users/u1":
                context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
            return user_pb.User(name=request.name)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    user_grpc.add_UserServiceServicer_to_server(Users(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            directory = GrpcDirectory(channel, timeout=5)
            for _ in range(3):
                directory.ensure_user("u1")
            for _ in range(2):
                with pytest.raises(NotFound):
                    directory.ensure_user("nobody")
    finally:
        server.stop(0)
    assert asked == ["users/u1", "users/nobody", "users/nobody"]
