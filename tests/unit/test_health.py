"""Health follows the database, but a blip (a restart) does not take every replica out at once."""

from __future__ import annotations

from typing import Any

from grpc_health.v1 import health, health_pb2

from meshkit.health import DatabaseHealth


class FlakyDatabase:
    def __init__(self) -> None:
        self.up = True

    def ping(self) -> None:
        if not self.up:
            raise OSError("connection refused")


def status(servicer: health.HealthServicer, service: str = "") -> int:
    reply: Any = servicer.Check(health_pb2.HealthCheckRequest(service=service), None)
    return int(reply.status)


def test_serving_flips_only_after_a_run_of_failed_pings_and_back_at_once() -> None:
    servicer, db = health.HealthServicer(), FlakyDatabase()
    probe = DatabaseHealth(servicer, db, ["shopmesh.demo.v1.Demo"], failures=3)  # type: ignore[arg-type]
    assert probe.check() is True
    assert (
        status(servicer)
        == status(servicer, "shopmesh.demo.v1.Demo")
        == health_pb2.HealthCheckResponse.SERVING
    )
    db.up = False
    assert [probe.check(), probe.check()] == [True, True]  # a restart-sized blip
    assert probe.check() is False
    assert status(servicer, "shopmesh.demo.v1.Demo") == health_pb2.HealthCheckResponse.NOT_SERVING
    assert probe.check() is False
    db.up = True
    assert probe.check() is True
    assert status(servicer) == health_pb2.HealthCheckResponse.SERVING


def test_a_database_down_at_start_is_not_serving_at_once() -> None:
    servicer, db = health.HealthServicer(), FlakyDatabase()
    db.up = False
    assert DatabaseHealth(servicer, db, [], failures=3).check() is False  # type: ignore[arg-type]
    assert status(servicer) == health_pb2.HealthCheckResponse.NOT_SERVING
