"""The products service through an in-process gRPC server on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.type import money_pb2
from shopmesh.product.v1 import product_service_pb2 as pb
from shopmesh.product.v1 import product_service_pb2_grpc as pb_grpc

from svc_product import settings as product_settings
from svc_product.server import create_server
from tests.support.grpc_testing import as_user, assert_error, call_error, details, serving, with_metadata

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def channel(service_env: dict[str, str]) -> Iterator[grpc.Channel]:
    with serving(create_server(product_settings.load(service_env))) as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.Channel) -> pb_grpc.ProductServiceStub:
    """Calls as an admin (product writes need the role)."""
    return pb_grpc.ProductServiceStub(with_metadata(channel, as_user("boss", "admin")))


def usd(units: int, nanos: int = 0) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", units=units, nanos=nanos)


def new_product(
    stub: pb_grpc.ProductServiceStub, stock: int = 10, price: money_pb2.Money | None = None
) -> pb.Product:
    product = pb.Product(
        sku=f"SKU-{uuid.uuid4().hex[:8]}", title="Mug", price=price or usd(12, 500_000_000), stock=stock
    )
    return stub.CreateProduct(pb.CreateProductRequest(product=product))


def reserve(stub: pb_grpc.ProductServiceStub, rid: str, *items: tuple[str, int]) -> pb.Reservation:
    lines = [pb.ReservationItem(product=name, quantity=qty) for name, qty in items]
    return stub.ReserveStock(pb.ReserveStockRequest(reservation_id=rid, items=lines))


def stock(stub: pb_grpc.ProductServiceStub, name: str) -> int:
    return stub.GetProduct(pb.GetProductRequest(name=name)).stock


def test_created_product_reads_back(stub: pb_grpc.ProductServiceStub) -> None:
    created = new_product(stub, stock=7)
    assert created.name.startswith("products/")
    assert created.HasField("create_time")
    fetched = stub.GetProduct(pb.GetProductRequest(name=created.name))
    assert fetched == created
    assert fetched.price == usd(12, 500_000_000)


def test_duplicate_sku_is_already_exists(stub: pb_grpc.ProductServiceStub) -> None:
    first = new_product(stub)
    again = pb.Product(sku=first.sku, title="Other", price=usd(1))
    error = call_error(stub.CreateProduct, pb.CreateProductRequest(product=again))
    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="SKU_ALREADY_EXISTS")


def test_a_create_product_replay_returns_the_first_product_once(stub: pb_grpc.ProductServiceStub) -> None:
    rid = str(uuid.uuid4())
    product = pb.Product(sku=f"SKU-{uuid.uuid4().hex[:8]}", title="Mug", price=usd(3), stock=4)
    first = stub.CreateProduct(pb.CreateProductRequest(product=product, request_id=rid))
    assert stub.CreateProduct(pb.CreateProductRequest(product=product, request_id=rid)) == first
    # A replay is the same sku: the rest of the body does not make it another product.
    product.title = "Mug, renamed"
    assert stub.CreateProduct(pb.CreateProductRequest(product=product, request_id=rid)) == first
    assert [p.name for p in stub.ListProducts(pb.ListProductsRequest()).products] == [first.name]


def test_a_create_product_request_id_reused_for_another_sku_is_already_exists(
    stub: pb_grpc.ProductServiceStub,
) -> None:
    rid = str(uuid.uuid4())
    mug = pb.Product(sku=f"SKU-{uuid.uuid4().hex[:8]}", title="Mug", price=usd(2))
    first = stub.CreateProduct(pb.CreateProductRequest(product=mug, request_id=rid))
    other = pb.Product(sku=f"SKU-{uuid.uuid4().hex[:8]}", title="Bowl", price=usd(1))
    error = call_error(stub.CreateProduct, pb.CreateProductRequest(product=other, request_id=rid))
    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
    assert details(error)["metadata"] == {"request_id": rid}
    assert error.details() == f"request_id {rid!r} was already used to create a different product"
    assert [p.name for p in stub.ListProducts(pb.ListProductsRequest()).products] == [first.name]


def test_invalid_product_names_every_bad_field_and_writes_nothing(stub: pb_grpc.ProductServiceStub) -> None:
    bad = pb.Product(
        sku="no spaces", title="t", price=money_pb2.Money(currency_code="usd", units=-1), stock=-2
    )
    error = call_error(stub.CreateProduct, pb.CreateProductRequest(product=bad))
    assert_error(error, INVALID, fields={"product.sku", "product.price", "product.stock"})
    assert stub.ListProducts(pb.ListProductsRequest()).products == []


def test_missing_price_is_invalid(stub: pb_grpc.ProductServiceStub) -> None:
    error = call_error(stub.CreateProduct, pb.CreateProductRequest(product=pb.Product(sku="A1", title="t")))
    assert_error(error, INVALID, fields={"product"})
    assert "price is required" in error.details()


def test_a_blank_title_is_invalid(stub: pb_grpc.ProductServiceStub) -> None:
    product = pb.Product(sku="A2", title="   ", price=usd(1))
    error = call_error(stub.CreateProduct, pb.CreateProductRequest(product=product))
    assert_error(error, INVALID, fields={"product.title"})


def test_product_writes_need_the_admin_role(channel: grpc.Channel) -> None:
    request = pb.CreateProductRequest(product=pb.Product(sku="A3", title="t", price=usd(1)))
    shopper = pb_grpc.ProductServiceStub(with_metadata(channel, as_user("shopper")))
    assert_error(
        call_error(shopper.CreateProduct, request), grpc.StatusCode.PERMISSION_DENIED, reason="ADMIN_ONLY"
    )
    anonymous = pb_grpc.ProductServiceStub(channel)
    assert_error(call_error(anonymous.CreateProduct, request), grpc.StatusCode.UNAUTHENTICATED)
    update = pb.UpdateProductRequest(product=pb.Product(name="products/abc", title="x"))
    assert_error(call_error(shopper.UpdateProduct, update), grpc.StatusCode.PERMISSION_DENIED)


def test_unknown_and_malformed_names(stub: pb_grpc.ProductServiceStub) -> None:
    missing = call_error(stub.GetProduct, pb.GetProductRequest(name="products/0123abcd"))
    assert_error(missing, grpc.StatusCode.NOT_FOUND, reason="PRODUCT_NOT_FOUND")
    malformed = call_error(stub.GetProduct, pb.GetProductRequest(name="orders/0123abcd"))
    assert_error(malformed, INVALID, fields={"name"})


def test_list_pages_in_creation_order_without_gaps(stub: pb_grpc.ProductServiceStub) -> None:
    names = [new_product(stub).name for _ in range(7)]
    seen, token, pages = [], "", 0
    while True:
        page = stub.ListProducts(pb.ListProductsRequest(page_size=3, page_token=token))
        seen += [p.name for p in page.products]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == names
    assert pages == 3


def test_list_rejects_negative_page_size_and_foreign_tokens(stub: pb_grpc.ProductServiceStub) -> None:
    assert_error(
        call_error(stub.ListProducts, pb.ListProductsRequest(page_size=-1)), INVALID, fields={"page_size"}
    )
    assert_error(
        call_error(stub.ListProducts, pb.ListProductsRequest(page_token="not-a-token")),
        INVALID,
        fields={"page_token"},
    )


def test_update_changes_only_masked_fields(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub, stock=5)
    change = pb.Product(name=product.name, title="Big mug", description="ignored", stock=99)
    updated = stub.UpdateProduct(
        pb.UpdateProductRequest(
            product=change, update_mask=field_mask_pb2.FieldMask(paths=["title", "stock"])
        )
    )
    assert (updated.title, updated.stock, updated.description) == ("Big mug", 99, "")
    assert updated.sku == product.sku
    assert updated.update_time.ToDatetime() >= product.update_time.ToDatetime()


def test_update_without_mask_uses_the_fields_that_are_set(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub, stock=5)
    updated = stub.UpdateProduct(pb.UpdateProductRequest(product=pb.Product(name=product.name, price=usd(3))))
    assert updated.price == usd(3)
    assert (updated.title, updated.stock) == (product.title, 5)


def test_update_rejects_immutable_and_unknown_paths(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub)
    for path in ("sku", "colour"):
        request = pb.UpdateProductRequest(
            product=pb.Product(name=product.name), update_mask=field_mask_pb2.FieldMask(paths=[path])
        )
        assert_error(call_error(stub.UpdateProduct, request), INVALID, fields={"update_mask"})


def test_reserve_prices_items_and_takes_stock(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub, stock=5)
    reservation = reserve(stub, "r-" + uuid.uuid4().hex, (product.name, 2))
    assert reservation.state == pb.Reservation.RESERVED
    (item,) = reservation.items
    assert (item.product, item.quantity, item.unit_price, item.title) == (
        product.name,
        2,
        product.price,
        "Mug",
    )
    assert stock(stub, product.name) == 3


def test_reserve_is_all_or_nothing(stub: pb_grpc.ProductServiceStub) -> None:
    plenty, scarce = new_product(stub, stock=10), new_product(stub, stock=1)
    error = call_error(
        stub.ReserveStock,
        pb.ReserveStockRequest(
            reservation_id="r-" + uuid.uuid4().hex,
            items=[
                pb.ReservationItem(product=plenty.name, quantity=4),
                pb.ReservationItem(product=scarce.name, quantity=2),
            ],
        ),
    )
    assert_error(error, grpc.StatusCode.FAILED_PRECONDITION, reason="INSUFFICIENT_STOCK")
    assert (stock(stub, plenty.name), stock(stub, scarce.name)) == (10, 1)


def test_reserve_replay_returns_the_first_reservation_once(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub, stock=5)
    rid = "r-" + uuid.uuid4().hex
    first = reserve(stub, rid, (product.name, 2))
    assert reserve(stub, rid, (product.name, 2)) == first
    assert stock(stub, product.name) == 3
    error = call_error(
        stub.ReserveStock,
        pb.ReserveStockRequest(
            reservation_id=rid, items=[pb.ReservationItem(product=product.name, quantity=1)]
        ),
    )
    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="RESERVATION_ID_REUSED")


def test_release_gives_stock_back_exactly_once(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub, stock=5)
    rid = "r-" + uuid.uuid4().hex
    reserve(stub, rid, (product.name, 4))
    for _ in range(2):
        released = stub.ReleaseStock(pb.ReleaseStockRequest(reservation_id=rid))
        assert released.state == pb.Reservation.RELEASED
    assert stock(stub, product.name) == 5


def test_release_of_an_unknown_id_blocks_a_late_reservation(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub, stock=5)
    rid = "r-" + uuid.uuid4().hex
    tombstone = stub.ReleaseStock(pb.ReleaseStockRequest(reservation_id=rid))
    assert (tombstone.state, list(tombstone.items)) == (pb.Reservation.RELEASED, [])
    late = reserve(stub, rid, (product.name, 2))
    assert late.state == pb.Reservation.RELEASED
    assert stock(stub, product.name) == 5


def test_reserve_validates_every_item(stub: pb_grpc.ProductServiceStub) -> None:
    product = new_product(stub)
    request = pb.ReserveStockRequest(
        reservation_id="has space",
        items=[
            pb.ReservationItem(product=product.name, quantity=0),
            pb.ReservationItem(product=product.name, quantity=1),
            pb.ReservationItem(product="nope", quantity=1),
        ],
    )
    assert_error(
        call_error(stub.ReserveStock, request),
        INVALID,
        fields={"reservation_id", "items[0].quantity", "items[2].product"},
    )
    twice = [pb.ReservationItem(product=product.name, quantity=1)] * 2
    duplicate = call_error(stub.ReserveStock, pb.ReserveStockRequest(reservation_id="r-dup", items=twice))
    assert_error(duplicate, INVALID, fields={"items[1].product"})
    missing = call_error(stub.ReserveStock, pb.ReserveStockRequest(reservation_id="r1"))
    assert_error(missing, INVALID, fields={"items"})


def test_reserving_an_unknown_product_is_not_found(stub: pb_grpc.ProductServiceStub) -> None:
    error = call_error(
        stub.ReserveStock,
        pb.ReserveStockRequest(
            reservation_id="r-x", items=[pb.ReservationItem(product="products/abc", quantity=1)]
        ),
    )
    assert_error(error, grpc.StatusCode.NOT_FOUND, reason="PRODUCT_NOT_FOUND")
