"""The events of the products service (protos/shopmesh/product/v1/events.proto): what it publishes through
its outbox, and its every replica's subscription to them (to drop what it caches)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from shopmesh.product.v1 import events_pb2
from sqlalchemy.engine import Connection

from meshkit.db import after_commit
from meshkit.events import Broadcast, Event, Outbox
from meshkit.names import make_name, parse_name
from svc_product import domain, models
from svc_product.messages import product_to_proto

log = logging.getLogger(__name__)

SOURCE = "//products.shopmesh.dev"
Change = events_pb2.ProductChanged.Change


class ProductChanges:
    """What this replica hears of catalog changes: its own at commit, every replica's from the broker. The hook
    the catalog cache (svc_product.cache) listens on.

    `on_change(product_id, created)` runs for each change (on the committing thread or the broker's: keep it
    short); `on_reset(live)` when changes may have been missed: the broker subscription was lost (`live` False)
    or is up again (True). While it is not live, a cache must not trust itself.
    """

    def __init__(self) -> None:
        self._change: list[Callable[[str, bool], None]] = []
        self._reset: list[Callable[[bool], None]] = []
        self.live = False
        self.received = 0

    def subscribe(self, on_change: Callable[[str, bool], None], on_reset: Callable[[bool], None]) -> None:
        self._change.append(on_change)
        self._reset.append(on_reset)
        on_reset(self.live)

    def broadcast(self) -> Broadcast:
        return Broadcast("product-changes", [events_pb2.ProductChanged], self._on_event, self._on_reset)

    def committed(self, conn: Connection, product_id: str, created: bool) -> None:
        """Announces a change of this replica once `conn`'s transaction commits (not if it rolls back)."""
        after_commit(conn, lambda: self._announce(product_id, created))

    def _announce(self, product_id: str, created: bool) -> None:
        for listener in list(self._change):
            listener(product_id, created)

    def _on_event(self, event: Event, message: events_pb2.ProductChanged) -> None:
        product_id = parse_name(message.product.name, "products", "product.name")
        self.received += 1
        self._announce(product_id, message.change == Change.CREATED)

    def _on_reset(self, live: bool) -> None:
        self.live = live
        for listener in list(self._reset):
            listener(live)


class ProductEvents:
    """Announces every create, edit and stock change, each in the transaction that made it: to the other
    services and replicas through the outbox, and to this replica's own listeners at commit."""

    def __init__(self, outbox: Outbox | None = None, changes: ProductChanges | None = None) -> None:
        self.outbox = outbox or Outbox(models.outbox, SOURCE, [events_pb2.ProductChanged])
        self.changes = changes or ProductChanges()

    def changed(
        self, conn: Connection, product: domain.Product, change: events_pb2.ProductChanged.Change
    ) -> None:
        self.outbox.add(
            conn,
            events_pb2.ProductChanged(product=product_to_proto(product), change=change),
            make_name("products", product.id),
        )
        self.changes.committed(conn, product.id, change == Change.CREATED)
