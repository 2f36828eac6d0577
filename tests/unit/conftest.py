"""Unit-tier fixtures: per-test SQLite databases and settings for in-process servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshctl import topology


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def service_env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    """Environment for any service's settings loader: port 0, a fresh SQLite file, a temp data dir."""
    env = {"SHOPMESH_DATA_DIR": str(tmp_path / "data"), "SHOPMESH_REPLICA": "test-0"}
    for prefix in (service.env_prefix for service in topology.load().services):
        env[f"{prefix}_PORT"] = "0"
        env[f"{prefix}_DATABASE_URL"] = sqlite_url
    return env
