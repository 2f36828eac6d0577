"""Processes by group (envoy, svc, ev, pg, obs, load): the console table's CPU columns and the events' share."""

from __future__ import annotations

from collections.abc import Mapping

SERVICES = ("users", "products", "orders", "payments")
EVENTS = ("nats", "notifications")
"""The asynchronous half: the broker and the events' consumer (the relays run inside the services)."""


def process_group(process: str) -> str:
    """Columns of the console table: envoy, svc (the service replicas), ev (the broker and the notifications
    replicas), pg, obs (trace sink, log pumping), load (the load generator)."""
    if process == "envoy":
        return "envoy"
    if process == "nats" or process.rpartition("-")[0] in EVENTS:
        return "ev"
    if process == "postgres":
        return "pg"
    if process == "loadgen":
        return "load"
    if process.rpartition("-")[0] in (*SERVICES, "bench"):
        return "svc"
    return "obs"


GROUPS = ("envoy", "svc", "ev", "pg", "obs", "load")


def grouped(cpu: Mapping[str, float]) -> dict[str, float]:
    totals = dict.fromkeys(GROUPS, 0.0)
    for process, seconds in cpu.items():
        totals[process_group(process)] += seconds
    return totals
