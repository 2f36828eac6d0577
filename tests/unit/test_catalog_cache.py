"""The catalog cache on its own (svc_product.cache) and in the products servicer: hits, invalidation, the
stale-fill guard, the TTL and bounds, trust only while subscribed, and the Cache-Control it answers with."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from shopmesh.product.v1 import product_service_pb2 as pb
from shopmesh.product.v1 import product_service_pb2_grpc as pb_grpc

from svc_product import settings as product_settings
from svc_product.cache import CacheSettings, CatalogCache
from svc_product.events import ProductChanges
from svc_product.server import create_server
from tests.support.grpc_testing import as_user, serving, with_metadata


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def product(product_id: str, title: str = "Tea") -> pb.Product:
    return pb.Product(name=f"products/{product_id}", title=title)


def page(*ids: str) -> pb.ListProductsResponse:
    return pb.ListProductsResponse(products=[product(i) for i in ids])


class Loads:
    """A loader that counts its calls and answers whatever it is told to."""

    def __init__(self, answer: pb.Product) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> pb.Product:
        self.calls += 1
        return self.answer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> CatalogCache:
    cache = CatalogCache(CacheSettings(products=3, pages=2, ttl_seconds=10), clock=clock)
    cache.reset(live=True)
    return cache


def test_a_second_read_is_a_hit_and_a_change_drops_it(cache: CatalogCache) -> None:
    load = Loads(product("a"))
    assert cache.product("a", load).title == "Tea"
    assert cache.product("a", load).title == "Tea"
    assert load.calls == 1 and cache.hits["product"] == 1 and cache.misses["product"] == 1
    cache.changed("a")
    load.answer = product("a", "Green tea")
    assert cache.product("a", load).title == "Green tea" and load.calls == 2


def test_nothing_is_served_or_kept_while_the_subscription_is_down(cache: CatalogCache) -> None:
    load = Loads(product("a"))
    cache.product("a", load)
    cache.reset(live=False)  # the broker subscription is lost: changes may be missed from now on
    for _ in range(3):
        cache.product("a", load)
    assert load.calls == 4 and cache.sizes() == {"product": 0, "page": 0}
    cache.reset(live=True)
    cache.product("a", load)
    cache.product("a", load)
    assert load.calls == 5


def test_an_answer_read_before_a_change_is_not_kept_after_it(cache: CatalogCache) -> None:
    """The race the generation guards: a miss reads the old row, the change's invalidation lands while it is
    on its way back, and the old answer must not be cached after the invalidation."""

    def load_then_change() -> pb.Product:
        old = product("a", "Old title")
        cache.changed("a")  # committed and heard while this read was in flight
        return old

    assert cache.product("a", load_then_change).title == "Old title"  # the caller gets what it read
    fresh = Loads(product("a", "New title"))
    assert cache.product("a", fresh).title == "New title" and fresh.calls == 1  # not the old answer
    # A change of another product does not spoil the fill.
    other = Loads(product("b"))

    def load_while_a_changes() -> pb.Product:
        cache.changed("a")
        return other()

    cache.product("b", load_while_a_changes)
    cache.product("b", other)
    assert other.calls == 1


def test_a_reset_during_a_read_spoils_the_fill(cache: CatalogCache) -> None:
    def load_then_reset() -> pb.Product:
        cache.reset(live=True)  # lost and back while this read was in flight
        return product("a")

    cache.product("a", load_then_reset)
    again = Loads(product("a"))
    cache.product("a", again)
    assert again.calls == 1


def test_entries_expire_after_the_ttl(cache: CatalogCache, clock: Clock) -> None:
    load = Loads(product("a"))
    cache.product("a", load)
    clock.now += 9.9
    cache.product("a", load)
    assert load.calls == 1
    clock.now += 0.2
    cache.product("a", load)
    assert load.calls == 2


def test_the_bound_evicts_the_least_recently_used(cache: CatalogCache) -> None:
    for product_id in ("a", "b", "c"):
        cache.product(product_id, Loads(product(product_id)))
    cache.product("a", Loads(product("a")))  # a is now the most recent
    cache.product("d", Loads(product("d")))  # over the bound of 3: b goes
    assert cache.sizes()["product"] == 3 and cache.evictions["product"] == 1
    b = Loads(product("b"))
    cache.product("b", b)
    a = Loads(product("a"))
    cache.product("a", a)
    assert b.calls == 1 and a.calls == 0


def test_pages_go_with_a_change_of_any_product_on_them_and_new_products_drop_the_tail(
    cache: CatalogCache,
) -> None:
    loads = {"first": 0, "tail": 0}

    def first() -> tuple[pb.ListProductsResponse, bool]:
        loads["first"] += 1
        return page("a", "b"), False

    def tail() -> tuple[pb.ListProductsResponse, bool]:
        loads["tail"] += 1
        return page("c"), True

    for _ in range(2):
        cache.page((None, 2), first)
        cache.page((7, 2), tail)
    assert loads == {"first": 1, "tail": 1}
    cache.changed("z", created=True)  # a new product can only join the last page
    cache.page((None, 2), first)
    cache.page((7, 2), tail)
    assert loads == {"first": 1, "tail": 2}
    cache.changed("b")  # on the first page only
    cache.page((None, 2), first)
    cache.page((7, 2), tail)
    assert loads == {"first": 2, "tail": 2}


def test_a_long_run_of_changes_during_a_read_refuses_the_fill(cache: CatalogCache) -> None:
    def load_during_a_storm() -> pb.Product:
        for i in range(5000):  # more than the change log remembers
            cache.changed(f"other-{i}")
        return product("a")

    cache.product("a", load_during_a_storm)
    again = Loads(product("a"))
    cache.product("a", again)
    assert again.calls == 1


def test_concurrent_reads_and_changes_never_leave_an_old_answer(cache: CatalogCache) -> None:
    """Writers bump a version in the 'database' and announce the change after it; readers fill from it. After
    the last change, the cache must answer the last version."""
    version = {"a": 0}
    lock = threading.Lock()

    def load() -> pb.Product:
        with lock:
            current = version["a"]
        return product("a", f"v{current}")

    def writer() -> None:
        for _ in range(300):
            with lock:
                version["a"] += 1
            cache.changed("a")

    def reader() -> None:
        for _ in range(600):
            cache.product("a", load)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.product("a", load).title == f"v{version['a']}"


def test_the_figures_are_on_metrics(cache: CatalogCache) -> None:
    registry = CollectorRegistry()
    cache.register_metrics(registry)
    cache.product("a", Loads(product("a")))
    cache.product("a", Loads(product("a")))
    cache.changed("a")
    assert registry.get_sample_value("shopmesh_cache_hits_total", {"cache": "product"}) == 1
    assert registry.get_sample_value("shopmesh_cache_misses_total", {"cache": "product"}) == 1
    assert registry.get_sample_value("shopmesh_cache_invalidations_total") == 1
    assert registry.get_sample_value("shopmesh_cache_entries", {"cache": "product"}) == 0
    assert registry.get_sample_value("shopmesh_cache_live") == 1
    assert registry.get_sample_value("shopmesh_cache_evictions_total", {"cache": "page"}) == 0


def test_settings_and_their_help() -> None:
    settings = product_settings.load(
        {
            "SVC_PRODUCT_CACHE_PRODUCTS": "5",
            "SVC_PRODUCT_CACHE_TTL_SECONDS": "2.5",
            "SVC_PRODUCT_CACHE_PAGES": "0",
        }
    )
    assert settings.cache == CacheSettings(products=5, pages=0, ttl_seconds=2.5)
    assert "SVC_PRODUCT_CACHE_TTL_SECONDS" in product_settings.ENV_HELP
    with pytest.raises(ValueError, match="SVC_PRODUCT_CACHE_PRODUCTS"):
        product_settings.load({"SVC_PRODUCT_CACHE_PRODUCTS": "-1"})


# -- in the servicer -------------------------------------------------------------------------------------------


@pytest.fixture
def served(service_env: dict[str, str]) -> Iterator[tuple[grpc.Channel, ProductChanges]]:
    """A products server whose change feed this test drives: live as if subscribed to the broker."""
    changes = ProductChanges()
    env = {**service_env, "SHOPMESH_NATS_URL": "nats://127.0.0.1:1"}  # a broker: the cache is wired
    server = create_server(product_settings.load(env), changes=changes)
    with serving(server) as channel:
        changes._on_reset(True)  # what the broadcast does once subscribed
        yield channel, changes


def test_the_servicer_answers_from_the_cache_and_its_own_writes_invalidate_it(
    served: tuple[grpc.Channel, ProductChanges],
) -> None:
    channel, _changes = served
    admin = pb_grpc.ProductServiceStub(with_metadata(channel, as_user("boss", "admin")))
    anonymous = pb_grpc.ProductServiceStub(channel)
    created = admin.CreateProduct(
        pb.CreateProductRequest(
            product=pb.Product(sku="TEA-1", title="Tea", price={"currency_code": "USD", "units": 3}, stock=4)
        ),
        timeout=10,
    )
    first = anonymous.GetProduct(pb.GetProductRequest(name=created.name), timeout=10)
    listed = anonymous.ListProducts(pb.ListProductsRequest(page_size=10), timeout=10)
    assert [p.title for p in listed.products] == ["Tea"]

    edit = pb.UpdateProductRequest(product=pb.Product(name=created.name, title="Green tea"))
    edit.update_mask.paths.append("title")
    admin.UpdateProduct(edit, timeout=10)
    assert anonymous.GetProduct(pb.GetProductRequest(name=created.name), timeout=10).title == "Green tea"
    assert [p.title for p in anonymous.ListProducts(pb.ListProductsRequest(page_size=10)).products] == [
        "Green tea"
    ]
    assert first.title == "Tea"

    # A product created afterwards joins the cached last page at once.
    admin.CreateProduct(
        pb.CreateProductRequest(
            product=pb.Product(sku="TEA-2", title="Black tea", price={"currency_code": "USD", "units": 2})
        ),
        timeout=10,
    )
    titles = [p.title for p in anonymous.ListProducts(pb.ListProductsRequest(page_size=10)).products]
    assert titles == ["Green tea", "Black tea"]


def test_a_change_heard_from_another_replica_drops_the_entry(
    served: tuple[grpc.Channel, ProductChanges], service_env: dict[str, str]
) -> None:
    channel, changes = served
    admin = pb_grpc.ProductServiceStub(with_metadata(channel, as_user("boss", "admin")))
    created = admin.CreateProduct(
        pb.CreateProductRequest(
            product=pb.Product(sku="MUG-1", title="Mug", price={"currency_code": "USD", "units": 9})
        ),
        timeout=10,
    )
    name = created.name
    assert admin.GetProduct(pb.GetProductRequest(name=name)).title == "Mug"
    # Another replica edits the row (here: straight in the shared database) and its event arrives.
    engine = sa.create_engine(service_env["SVC_PRODUCT_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE products SET title = 'Big mug' WHERE id = :id"), {"id": name[9:]})
    engine.dispose()
    assert admin.GetProduct(pb.GetProductRequest(name=name)).title == "Mug"  # cached, not yet told
    changes._announce(name.removeprefix("products/"), False)  # what the broadcast does on ProductChanged
    assert admin.GetProduct(pb.GetProductRequest(name=name)).title == "Big mug"
