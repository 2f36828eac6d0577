"""The catalog cache: GetProduct answers and ListProducts pages, kept in this replica's memory.

Why in process, not Redis: a 100,000-product catalog fits in tens of MB per replica, and a hit then costs no
network hop at all. What keeps it honest:

* **Invalidation.** Every catalog change drops what it touches: on the replica that made it, at commit
  (`ProductChanges.committed`); on every other replica, when it hears the ProductChanged event the outbox
  relays (`ProductChanges` over a per-replica broadcast). A product's entry goes, and so does every cached page
  holding it; a new product drops the pages at the end of the list (the only ones it can join).
* **No trust without the subscription.** The cache serves and fills only while the broadcast is live; when it
  is lost (or comes back: changes may have been missed in between), everything is dropped and reads go to the
  database until it is live again.
* **No stale fill.** A read that missed records the cache's generation before it goes to the database; its
  answer is kept only if no change to what it read was heard meanwhile (else an older answer could land after
  the invalidation meant to remove it, and stay until the TTL).
* **A TTL backstop** bounds what a silently lost event could cost; **bounds** (entries) keep memory flat (least
  recently used go first).

Stock here is advisory: ReserveStock reads and locks the row itself, and orders are priced from what it
returns, so a stale entry can show an old price or stock but never sell at it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from shopmesh.product.v1 import product_service_pb2 as pb

PageKey = tuple[int | None, int]
"""A ListProducts page: (keyset position after which it starts, page size)."""
_CREATED = ""
"""The change-log mark of a new product: it may join any page at the end of the list."""
_LOG_LENGTH = 4096
"""Changes remembered for the stale-fill check; a fill that outlived more of them is not kept."""


@dataclass(frozen=True)
class CacheSettings:
    products: int = 10_000
    """GetProduct answers kept (0: the cache is off)."""
    pages: int = 256
    """ListProducts pages kept."""
    ttl_seconds: float = 60.0
    """The longest an entry is served: the backstop for a change no event announced (a row edited behind the
    service's back, a writer whose relay is stuck while the broker is up). Invalidation normally takes tens of
    milliseconds; a minute keeps a hot product at one database read per replica per minute (10 s made every
    replica re-read the bench's whole hot set between two of its rounds)."""

    @property
    def enabled(self) -> bool:
        return self.products > 0 or self.pages > 0


@dataclass
class _Page:
    response: pb.ListProductsResponse
    ids: frozenset[str]
    tail: bool
    """The last page of the list: a new product may join it."""
    expires: float


class CatalogCache:
    """Thread-safe LRU+TTL caches of products and pages, invalidated by catalog changes (module docstring)."""

    def __init__(self, settings: CacheSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._products: OrderedDict[str, tuple[pb.Product, float]] = OrderedDict()
        self._pages: OrderedDict[PageKey, _Page] = OrderedDict()
        self._by_product: dict[str, set[PageKey]] = {}
        self._live = False
        self._generation = 0
        self._log: deque[tuple[int, str]] = deque(maxlen=_LOG_LENGTH)
        self._floor = 0
        """Fills that started before this generation are never kept (a reset, or the change log overflowed)."""
        self.hits = {"product": 0, "page": 0}
        self.misses = {"product": 0, "page": 0}
        self.evictions = {"product": 0, "page": 0}
        self.invalidations = 0
        self.resets = 0

    # -- reads -------------------------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live

    def product(self, product_id: str, load: Callable[[], pb.Product]) -> pb.Product:
        """The cached answer for `product_id`, else `load()`'s (kept when nothing changed it meanwhile)."""
        if self.settings.products <= 0:
            return load()
        now = self._clock()
        with self._lock:
            found = self._products.get(product_id)
            if found is not None and found[1] > now and self._live:
                self._products.move_to_end(product_id)
                self.hits["product"] += 1
                return found[0]
            self.misses["product"] += 1
            token = self._generation
        answer = load()
        with self._lock:
            if self._keep(token, lambda changed: changed == product_id):
                self._products[product_id] = (answer, now + self.settings.ttl_seconds)
                self._products.move_to_end(product_id)
                while len(self._products) > self.settings.products:
                    self._products.popitem(last=False)
                    self.evictions["product"] += 1
        return answer

    def page(
        self, key: PageKey, load: Callable[[], tuple[pb.ListProductsResponse, bool]]
    ) -> pb.ListProductsResponse:
        """The cached page `key`, else `load()`'s: (the response, whether it is the list's last page)."""
        if self.settings.pages <= 0:
            return load()[0]
        now = self._clock()
        with self._lock:
            found = self._pages.get(key)
            if found is not None and found.expires > now and self._live:
                self._pages.move_to_end(key)
                self.hits["page"] += 1
                return found.response
            self.misses["page"] += 1
            token = self._generation
        response, tail = load()
        ids = frozenset(p.name.removeprefix("products/") for p in response.products)
        with self._lock:
            if self._keep(token, lambda changed: changed in ids or (tail and changed == _CREATED)):
                self._drop_page(key)
                self._pages[key] = _Page(response, ids, tail, now + self.settings.ttl_seconds)
                for product_id in ids:
                    self._by_product.setdefault(product_id, set()).add(key)
                while len(self._pages) > self.settings.pages:
                    self._drop_page(next(iter(self._pages)))
                    self.evictions["page"] += 1
        return response

    def _keep(self, token: int, touched: Callable[[str], bool]) -> bool:
        """Whether a fill that started at generation `token` may be kept (under the lock)."""
        if not self._live or token < self._floor:
            return False
        if token == self._generation:
            return True
        return not any(touched(changed) for generation, changed in self._log if generation > token)

    # -- invalidation ------------------------------------------------------------------------------------------

    def changed(self, product_id: str, created: bool = False) -> None:
        """Drops what a change of `product_id` makes stale (`created`: a new product, which joins the tail)."""
        with self._lock:
            self.invalidations += 1
            self._bump(product_id)
            self._products.pop(product_id, None)
            for key in self._by_product.pop(product_id, set()):
                self._drop_page(key)
            if created:
                self._bump(_CREATED)
                for key in [k for k, page in self._pages.items() if page.tail]:
                    self._drop_page(key)

    def reset(self, live: bool) -> None:
        """Drops everything; serves again only when `live` (the subscription is up)."""
        with self._lock:
            self.resets += 1
            self._live = live
            self._generation += 1
            self._floor = self._generation
            self._log.clear()
            self._products.clear()
            self._pages.clear()
            self._by_product.clear()

    def _bump(self, changed: str) -> None:
        self._generation += 1
        if len(self._log) == self._log.maxlen:
            self._floor = self._log[0][0]  # the oldest change is forgotten: fills from before it are refused
        self._log.append((self._generation, changed))

    def _drop_page(self, key: PageKey) -> None:
        page = self._pages.pop(key, None)
        if page is None:
            return
        for product_id in page.ids:
            keys = self._by_product.get(product_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_product[product_id]

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {"product": len(self._products), "page": len(self._pages)}

    def register_metrics(self, registry: CollectorRegistry) -> None:
        registry.register(_CacheCollector(self))


class _CacheCollector(Collector):
    """The cache's figures, read when Prometheus scrapes (nothing on the hot path)."""

    def __init__(self, cache: CatalogCache) -> None:
        self.cache = cache

    def collect(self) -> list[Metric]:
        cache = self.cache
        families: list[tuple[str, str, dict[str, int]]] = [
            ("shopmesh_cache_hits", "catalog reads answered from the cache", cache.hits),
            ("shopmesh_cache_misses", "catalog reads that went to the database", cache.misses),
            ("shopmesh_cache_evictions", "entries dropped to stay within the bound", cache.evictions),
        ]
        out: list[Metric] = []
        for name, doc, values in families:
            family = CounterMetricFamily(name, doc, labels=["cache"])
            for kind, value in values.items():
                family.add_metric([kind], value)
            out.append(family)
        out.append(
            CounterMetricFamily(
                "shopmesh_cache_invalidations", "catalog changes applied to the cache", cache.invalidations
            )
        )
        out.append(
            CounterMetricFamily(
                "shopmesh_cache_resets",
                "times the cache was emptied (its change subscription lost or back)",
                cache.resets,
            )
        )
        size = GaugeMetricFamily("shopmesh_cache_entries", "entries in the cache", labels=["cache"])
        for kind, value in cache.sizes().items():
            size.add_metric([kind], value)
        out.append(size)
        out.append(
            GaugeMetricFamily(
                "shopmesh_cache_live", "1 while the cache trusts itself (its subscription is up)", cache.live
            )
        )
        return out
