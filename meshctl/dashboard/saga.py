"""The checkout saga's row: orders by outcome, what CreateOrder answered and how long it took, its steps."""

from __future__ import annotations

from meshctl.dashboard.panels import Row, panel, q
from meshctl.dashboard.promql import ORDERS, SAGA_STEPS, quantile, rate

ROW = Row(
    "Checkout saga",
    (
        panel(
            "Orders by outcome",
            "Orders finished per second: OrderConfirmed, OrderFailed (card declined, or refunded after an "
            "interrupted checkout) and OrderCancelled, counted when the orders outbox publishes them.",
            q(
                "sum by (type) "
                f"""({rate("shopmesh_events_published_total", ORDERS + ', type=~"shopmesh[.]order[.].+"')})""",
                "{{type}}",
            ),
            unit="ops",
            stack=True,
        ),
        panel(
            "CreateOrder by status code",
            "What buyers got: OK, FAILED_PRECONDITION (out of stock, declined), UNAVAILABLE (an outage "
            "settled; the client may retry with the same request_id), ...",
            q(
                "sum by (grpc_code) "
                f"""({rate("grpc_server_handled_total", ORDERS + ', grpc_method="CreateOrder"')})""",
                "{{grpc_code}}",
            ),
            unit="reqps",
            stack=True,
        ),
        panel(
            "CreateOrder latency",
            "The whole saga (reserve stock, charge, confirm), p50/p95/p99; its SLO target is 2.5 s.",
            *(
                q(
                    quantile(
                        value,
                        "grpc_method",
                        "grpc_server_handling_seconds_bucket",
                        ORDERS + ', grpc_method="CreateOrder"',
                        replicas=False,
                    ),
                    f"p{name}",
                )
                for value, name in ((0.5, "50"), (0.95, "95"), (0.99, "99"))
            ),
            unit="s",
        ),
        panel(
            "Saga steps: stock and payments",
            "The calls the saga makes and its compensations (ReleaseStock, VoidCharge, Refund), by code.",
            q(
                f"sum by (grpc_method, grpc_code) ({rate('grpc_server_handled_total', SAGA_STEPS)})",
                "{{grpc_method}} {{grpc_code}}",
            ),
            unit="reqps",
            width=16,
        ),
    ),
)
