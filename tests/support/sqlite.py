"""Reading a service's SQLite database behind its back, for assertions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa


def rows(sqlite_url: str, query: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def database_bytes(sqlite_url: str) -> bytes:
    """Everything SQLite wrote: the database file and its WAL and shared-memory files."""
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    files = sorted(path.parent.glob(path.name + "*"))
    assert path in files
    return b"".join(f.read_bytes() for f in files)
