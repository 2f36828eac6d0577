"""The events of the products service (protos/shopmesh/product/v1/events.proto): what it publishes through
its outbox, and its every replica's subscription to them (to drop what it caches)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from shopmesh.product.v1 import events_pb2
from sqlalchemy.engine import Connection

from meshkit.events import Broadcast, Event, Outbox
from meshkit.names import make_name, parse_name
from svc_product import domain, models
from svc_product.messages import product_to_proto

log = logging.getLogger(__name__)

SOURCE = "//products.shopmesh.dev"
Change = events_pb2.ProductChanged.Change


class ProductEvents:
    """Announces every create, edit and stock change, each in the transaction that made it."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox(models.outbox, SOURCE, [events_pb2.ProductChanged])

    def changed(
        self, conn: Connection, product: domain.Product, change: events_pb2.ProductChanged.Change
    ) -> None:
        self.outbox.add(
            conn,
            events_pb2.ProductChanged(product=product_to_proto(product), change=change),
            make_name("products", product.id),
        )


class ProductChanges:
    """What every replica hears of catalog changes, from any replica: the hook a catalog cache uses.

    `on_change(product_id)` runs for each ProductChanged (from the broker's thread: keep it short);
    `on_reset()` when changes may have been missed (the subscription was lost, or is back after a loss) —
    a cache then drops everything. Until `live` is True again, a cache should not trust itself.
    """

    def __init__(self) -> None:
        self._change: list[Callable[[str], None]] = []
        self._reset: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.received = 0

    def subscribe(self, on_change: Callable[[str], None], on_reset: Callable[[], None]) -> None:
        with self._lock:
            self._change.append(on_change)
            self._reset.append(on_reset)

    def broadcast(self) -> Broadcast:
        return Broadcast("product-changes", [events_pb2.ProductChanged], self._on_event, self._on_reset)

    def _on_event(self, event: Event, message: events_pb2.ProductChanged) -> None:
        product_id = parse_name(message.product.name, "products", "product.name")
        self.received += 1
        for listener in list(self._change):
            listener(product_id)

    def _on_reset(self) -> None:
        for listener in list(self._reset):
            listener()
