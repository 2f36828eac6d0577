"""Fixtures every tier shares: the throwaway PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run; tests create their own databases on it."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
