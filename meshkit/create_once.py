"""Creating a resource once per request_id (AIP-155): its key column, the migration that added it, the replay.

A create call may carry an idempotency key (`meshkit.idempotency.request_key`). The row it makes keeps that key
in a UNIQUE `create_request_id` column, so two calls with one key cannot both insert, whatever replica runs
them: the constraint decides, not a look-up. A later call with the key is a replay when it asks for what the
first did, and gets the first answer; anything else is REQUEST_ID_REUSED, which names only the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from meshkit.db import Database, Migration
from meshkit.errors import AlreadyExists, ServiceError

T = TypeVar("T")

KEY_COLUMN = "create_request_id"


def request_id_column() -> sa.Column[str]:
    """The key column of a table whose rows a create call makes: NULL where the call sent no key."""
    return sa.Column(KEY_COLUMN, sa.String(128), unique=True)


def add_request_id_column(table: str, rpc: str) -> Migration:
    """The migration that gave an existing `table` its key column. It shipped: its SQL must stay as it is."""

    def apply(conn: Connection) -> None:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {KEY_COLUMN} VARCHAR(128)"))
        conn.execute(sa.text(f"CREATE UNIQUE INDEX {table}_{KEY_COLUMN} ON {table} ({KEY_COLUMN})"))

    return Migration(f"{table}.{KEY_COLUMN}: idempotent {rpc}", apply)


def by_request_id(table: sa.Table) -> sa.Select[Any]:
    """The query of the row made with a key (bound as `request_id`), built once per table."""
    return sa.select(table).where(table.c[KEY_COLUMN] == sa.bindparam("request_id"))


class RequestIdReused(AlreadyExists):
    """A key sent again with a different request. It says nothing of what the first call made."""

    def __init__(self, request_id: str, used_for: str) -> None:
        """`used_for` ends the message: 'request_id 'k' was already used <used_for>'."""
        super().__init__(
            f"request_id {request_id!r} was already used {used_for}",
            reason="REQUEST_ID_REUSED",
            metadata={"request_id": request_id},
        )


class CreateOnce(Generic[T]):
    """Runs a service's create calls once per request_id.

    `find(conn, request_id)` is the resource made with a key, if any; `used_for` ends the REQUEST_ID_REUSED
    message (see `RequestIdReused`).
    """

    def __init__(self, db: Database, find: Callable[[Connection, str], T | None], used_for: str) -> None:
        self._db = db
        self._find = find
        self._used_for = used_for

    def create(
        self,
        request_id: str,
        *,
        is_replay: Callable[[T], bool],
        build: Callable[[], T],
        add: Callable[[Connection, T], bool],
        announce: Callable[[Connection, T], None],
        taken: Callable[[], ServiceError],
    ) -> T:
        """The resource `build()` makes, inserted once; or the first one made with `request_id`.

        `is_replay(existing)`: whether this call asks for what the one that made `existing` did. When the caller
        is nobody in particular (an anonymous sign-up), it must check everything the caller sent, secrets
        included: passing it is what entitles the caller to see `existing`. `build` runs outside the
        transaction (slow work, such as hashing a password, belongs there). `add(conn, made)` inserts the row
        (`meshkit.db.insert_if_absent`) and is False when a unique constraint refused it: if that was the key, a
        concurrent call with it won the race and its resource is the answer; otherwise `taken()` is raised
        (another key of the table, an e-mail or a sku, is in use). `announce(conn, made)` writes the events of a
        row that was inserted, in its transaction.
        """
        if request_id and (replay := self._replay(request_id, is_replay)) is not None:
            return replay
        made = build()
        with self._db.transaction() as conn:
            created = add(conn, made)
            if created:
                announce(conn, made)
        if created:
            return made
        if request_id and (replay := self._replay(request_id, is_replay)) is not None:
            return replay
        raise taken()

    def _replay(self, request_id: str, is_replay: Callable[[T], bool]) -> T | None:
        with self._db.snapshot() as conn:
            existing = self._find(conn, request_id)
        if existing is None:
            return None
        if not is_replay(existing):
            raise RequestIdReused(request_id, self._used_for)
        return existing
