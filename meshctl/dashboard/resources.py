"""What each replica holds: its database connection pool, and its process (CPU, memory, restarts, fds) with Envoy's."""

from __future__ import annotations

from meshctl.dashboard.panels import Row, panel, q
from meshctl.dashboard.promql import ENVOY_HCM, SVC, per_replica, rate

DATABASES = Row(
    "Databases",
    (
        panel(
            "Connection pool saturation",
            "Connections in a transaction over the pool's size, per replica (ShopmeshDatabasePoolSaturated "
            "at 90 % for 10 min). Over 100 %: overflow connections are open.",
            q(
                per_replica(f"shopmesh_db_pool_checked_out{{{SVC}}} / shopmesh_db_pool_size{{{SVC}}}"),
                "{{replica}}",
            ),
            unit="percentunit",
        ),
        panel(
            "Connections in use",
            "Checked out (in a transaction) and overflow connections, per replica.",
            q(per_replica(f"shopmesh_db_pool_checked_out{{{SVC}}}"), "{{replica}} in use"),
            q(per_replica(f"clamp_min(shopmesh_db_pool_overflow{{{SVC}}}, 0)"), "{{replica}} overflow"),
        ),
        panel(
            "Idle connections",
            "Connections open and waiting in the pool, per replica.",
            q(per_replica(f"shopmesh_db_pool_checked_in{{{SVC}}}"), "{{replica}}"),
        ),
    ),
)


PROCESSES = Row(
    "Processes",
    (
        panel(
            "CPU",
            "CPU seconds per second, per replica (1 = one core).",
            q(per_replica(rate("process_cpu_seconds_total")), "{{replica}}"),
        ),
        panel(
            "Resident memory",
            "RSS per replica.",
            q(per_replica(f"process_resident_memory_bytes{{{SVC}}}"), "{{replica}}"),
            unit="bytes",
        ),
        panel(
            "Restarts",
            "Process restarts in the last hour, per replica (ShopmeshReplicaRestarted, CrashLooping at 3), "
            "and Envoy's.",
            q(per_replica(f"changes(process_start_time_seconds{{{SVC}}}[1h])"), "{{replica}}"),
            q(f"resets(envoy_server_uptime{{{ENVOY_HCM}}}[1h])", "envoy {{instance}}"),
        ),
        panel(
            "Open file descriptors",
            "Descriptors in use over the limit, per replica.",
            q(per_replica(f"process_open_fds{{{SVC}}} / process_max_fds{{{SVC}}}"), "{{replica}}"),
            unit="percentunit",
        ),
        panel(
            "Envoy memory",
            "Envoy's heap in use, per pod.",
            q(f"envoy_server_memory_allocated{{{ENVOY_HCM}}}", "{{instance}}"),
            unit="bytes",
        ),
    ),
)
