"""The benchmark harness's own logic: load-generator command lines and reports, /proc readings, aggregation,
targets, the JSON document, the empty fixture service and the bench mesh's Envoy config. No timings."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import cli, fixture, growth, loadgen, procs, report, seed
from bench.loadgen import GhzCall, Sample, WrkCall
from bench.machine import split_cpus
from bench.plan import Plan, row_call
from bench.report import ROW_NAMES, Row
from bench.sut import FIXTURE, UNLIMITED, bench_topology
from meshctl import envoy_config
from meshctl.topology import DEFAULT_DESCRIPTOR
from meshkit.db import Database
from svc_order import domain
from svc_order.repository import OrderRepository
from svc_user import models as user_models
from svc_user.passwords import Passwords

# -- ghz ---------------------------------------------------------------------------------------------------------

GHZ_REPORT: dict[str, Any] = {
    "count": 1010,
    "total": 2_000_000_000,
    "statusCodeDistribution": {"OK": 1000, "Unavailable": 10},
    "errorDistribution": {"rpc error: code = Unavailable desc = no healthy upstream": 10},
    "latencyDistribution": [
        {"percentage": 10, "latency": 1_000_000},
        {"percentage": 50, "latency": 2_500_000},
        {"percentage": 99, "latency": 9_000_000},
    ],
    "details": [],
}


def test_ghz_report_gives_successes_errors_and_percentiles() -> None:
    sample = loadgen.parse_ghz(GHZ_REPORT)
    assert (sample.ok, sample.errors) == (1000, 10)
    assert sample.seconds == 2.0
    assert sample.rps == 500.0  # successes only
    assert (sample.p50_ms, sample.p99_ms) == (2.5, 9.0)
    assert sample.error_kinds == {"rpc error: code = Unavailable desc = no healthy upstream": 10}


def test_ghz_report_without_any_success() -> None:
    sample = loadgen.parse_ghz({"count": 3, "total": 10**9, "statusCodeDistribution": {"Unavailable": 3}})
    assert (sample.ok, sample.errors, sample.p50_ms, sample.rps) == (0, 3, 0.0, 0.0)
    assert sample.error_kinds == {"Unavailable": 3}


def test_ghz_command_line(tmp_path: Path) -> None:
    call = GhzCall("127.0.0.1:1", "pkg.Svc.Method", [{}], metadata={"authorization": "Bearer t"})
    argv = loadgen.ghz_argv(
        "ghz", call, protoset=tmp_path / "p.binpb", data_file=tmp_path / "d.json",
        concurrency=8, connections=16, seconds=1.5, cpus=1,
    )  # fmt: skip
    assert argv[0] == "ghz" and argv[-1] == "127.0.0.1:1"
    options = dict(itertools.pairwise(argv[1:-1]))  # each flag -> the word after it
    assert options["--call"] == "pkg.Svc.Method"
    assert options["--duration"] == "1.5s"
    assert options["--connections"] == "8"  # never more connections than calls in flight
    assert options["--duration-stop"] == "wait"  # calls in flight at the end count, not as errors
    assert json.loads(options["--metadata"]) == {"authorization": "Bearer t"}
    assert options["--format"] == "json"


# -- wrk ---------------------------------------------------------------------------------------------------------


def test_wrk_summary_line() -> None:
    output = (
        "Running 1s test @ http://127.0.0.1:1\n"
        'BENCH_RESULT {"requests":1200,"duration_us":2000000,"connect":0,"read":1,"write":0,"status":200,'
        '"timeout":2,"p50_us":1500.0,"p99_us":8000.5}\n'
    )
    sample = loadgen.parse_wrk(output)
    assert (sample.ok, sample.errors) == (1000, 203)
    assert sample.rps == 500.0
    assert (sample.p50_ms, sample.p99_ms) == (1.5, 8.0005)
    assert sample.error_kinds == {"http read": 1, "http status": 200, "http timeout": 2}


def test_wrk_without_summary_is_an_error() -> None:
    with pytest.raises(ValueError, match="BENCH_RESULT"):
        loadgen.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_lua_templates_escape_and_substitute() -> None:
    assert loadgen.lua_string('a"b\\c') == '"a\\"b\\\\c"'
    assert loadgen.lua_template("/v1/products/{item}") == '"/v1/products/" .. item'
    assert (
        loadgen.lua_template('{"id":"{uid}","p":"{item}"}')
        == '"{\\"id\\":\\"" .. uid .. "\\",\\"p\\":\\"" .. item .. "\\"}"'
    )
    assert loadgen.lua_template("plain") == '"plain"'


def test_wrk_script_rotates_items_makes_unique_ids_and_reports() -> None:
    call = WrkCall(
        "http://gw", "POST", "/v1/orders", items=["a", "b"], body='{"request_id":"{uid}"}',
        headers={"authorization": "Bearer x"},
    )  # fmt: skip
    script = loadgen.wrk_script(call, "run1")
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["authorization"] = "Bearer x"' in script
    assert '"a",\n  "b"' in script
    assert 'local prefix = "run1"' in script
    assert "BENCH_RESULT" in script and "latency:percentile(99)" in script
    argv = loadgen.wrk_argv("wrk", call, script=Path("s.lua"), concurrency=4, seconds=0.5, threads=2)
    assert "--duration=1s" in argv  # wrk counts whole seconds
    assert argv[-1] == "http://gw"


def test_load_generator_cpu_time_is_measured() -> None:
    finished = loadgen.run_pinned(["python3", "-c", "sum(range(3_000_000)); print('done')"], None, timeout=60)
    assert finished.returncode == 0 and finished.stdout.strip() == "done"
    assert finished.cpu_seconds > 0


# -- /proc -------------------------------------------------------------------------------------------------------


def test_stat_parsing_survives_odd_command_names() -> None:
    fields = " ".join(str(n) for n in range(3, 30))  # field n holds n
    ppid, utime, stime, cutime, cstime = procs.parse_stat(f"42 (a) b (c)) {fields}")
    assert (ppid, utime, stime, cutime, cstime) == (4, 14, 15, 16, 17)


def test_own_process_figures() -> None:
    sum(range(1_000_000))
    assert procs.cpu_seconds(os.getpid()) > 0
    assert procs.rss_mb(os.getpid()) > 1
    assert procs.pss_mb(os.getpid()) > 1
    assert procs.cpu_seconds(2**22 + 12345) == 0.0  # gone: no error
    assert procs.cpu_deltas({"a": 1.0, "b": 2.0}, {"a": 1.5, "b": 1.0, "c": 0.25}) == {
        "a": 0.5,
        "b": 0.0,
        "c": 0.25,
    }


def test_cpu_lists_and_model() -> None:
    assert procs.cpu_list([5, 0, 1, 2]) == "0-2,5"
    assert procs.cpu_list([3]) == "3"
    assert procs.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert split_cpus([0, 1]) == ([0], [1])
    assert split_cpus([0, 1, 2, 3]) == ([0, 1, 2], [3])
    assert split_cpus([0]) == ([0], [0])


# -- aggregation, targets, output ----------------------------------------------------------------------------------


def _sample(rps: float, p50: float = 1.0, p99: float = 2.0, errors: int = 0, cpu: float = 0.5) -> Sample:
    return Sample(ok=int(rps), errors=errors, seconds=1.0, p50_ms=p50, p99_ms=p99, cpu={"envoy": cpu})


def test_rows_are_medians_with_errors_summed_and_cpu_per_thousand() -> None:
    row = report.aggregate(
        "x",
        [_sample(1000, 1.0, 5.0, cpu=1.0), _sample(3000, 3.0, 7.0, 1), _sample(2000, 2.0, 6.0, 2, cpu=1.0)],
    )
    assert (row.rps, row.p50_ms, row.p99_ms, row.errors) == (2000, 2.0, 6.0, 3)
    # 1.0 s / 1000 calls, 0.5 s / 3000, 1.0 s / 2000 -> 1.0, 0.1667, 0.5 per 1,000: median 0.5
    assert row.cpu_s_per_1k == {"envoy": 0.5}
    with pytest.raises(ValueError):
        report.aggregate("x", [])


def _row(name: str, rps: float, p50: float = 1.0, p99: float = 2.0, errors: int = 0) -> Row:
    return Row(name, rps, p50, p99, errors, {"envoy": 0.1, "products-0": 1.0, "postgres": 0.2})


def _rows() -> dict[str, Row]:
    figures = {
        "empty_direct": 4000, "empty_envoy": 2000, "get_product_direct": 1000, "get_product_envoy_grpc": 900,
        "get_product_envoy_rest": 700, "get_product_envoy_miss": 500, "list_products_page1": 300, "list_products_page1000": 300,
        "create_order_rest": 100, "create_order_grpc": 300, "create_order_grpc_no_broker": 320, "login": 5,
    }  # fmt: skip
    rows = {name: _row(name, rps) for name, rps in figures.items()}
    rows["list_products_page1000"] = _row("list_products_page1000", 300, p50=1.3)
    rows["create_order_grpc"] = _row("create_order_grpc", 300, p50=10.0, p99=40.0)
    rows["create_order_rest"] = _row("create_order_rest", 100, p50=10.0, p99=60.0, errors=1)
    # With the broker: relays in the services, the broker and notifications cost 0.9 + 0.15 + 0.35 ms more.
    cpu = {"orders-0": 6.0, "orders-1": 0.9, "nats": 0.15, "notifications-0": 0.35}
    rows["create_order_grpc"] = Row("create_order_grpc", 300, 10.0, 40.0, 0, cpu)
    rows["create_order_grpc_no_broker"] = Row(
        "create_order_grpc_no_broker", 320, 9.0, 30.0, 0, {"orders-0": 6.0}
    )
    return rows


def test_targets_from_one_run() -> None:
    found = {t.text: t for t in report.targets(_rows(), {"products-0": 61.0, "envoy": 90.0}, 4.0)}
    assert found["GetProduct via Envoy (gRPC) / direct, req/s"].value == 0.9
    assert found["GetProduct via Envoy (gRPC) / direct, req/s"].met
    assert not found["GetProduct REST / gRPC via Envoy, req/s"].met  # 0.78
    assert not found["GetProduct via Envoy / empty RPC via Envoy, req/s"].met  # 900 / 2000 = 0.45
    assert found["create_order_grpc / empty RPC via Envoy, req/s"].met  # 0.15
    assert not found["create_order_rest / empty RPC via Envoy, req/s"].met  # 0.05
    assert found["create_order_grpc p99 / p50"].met and not found["create_order_rest p99 / p50"].met
    assert not found["create_order_rest errors"].met and found["create_order_grpc errors"].met
    assert not found["ListProducts page 1,000 / page 1, p50 latency"].met  # 1.3
    assert not found["idle RSS of products-0, MB"].met
    events = found["events' CPU per CreateOrder (relays, broker, notifications) / services' CPU without them"]
    assert events.value == pytest.approx(1.4 / 6.0) and not events.met
    assert not any("envoy" in text for text in found if text.startswith("idle RSS"))  # services only
    assert found["`make up` to all healthy, s"].met
    assert not found["GetProduct direct / empty RPC direct, req/s"].met  # 1000 / 4000
    assert not found["ListProducts page 1 via Envoy / empty RPC via Envoy, req/s"].met  # 300 / 2000 = 0.15
    miss = found["GetProduct, every read a cache miss, via Envoy / empty RPC via Envoy, req/s"]
    assert miss.value == 0.25 and miss.met
    assert "cache staleness after UpdateProduct, every replica, p99 ms" not in found  # not measured
    stale = {t.text: t for t in report.targets(_rows(), {}, None, staleness_p99_ms=1200.0)}
    assert not stale["cache staleness after UpdateProduct, every replica, p99 ms"].met


def test_document_has_exactly_the_agreed_shape() -> None:
    rows = list(_rows().values())
    doc = report.document({"cores": 2, "cpu_model": "x"}, rows, {"envoy": 70.04}, None)
    assert list(doc) == ["machine", "rows", "rss_mb", "up_to_healthy_s", "cache_staleness"]
    assert [r["name"] for r in doc["rows"]] == list(ROW_NAMES)
    for row in doc["rows"]:
        assert list(row) == ["name", "rps", "p50_ms", "p99_ms", "errors", "hit_ratio", "cpu_s_per_1k"]
    assert doc["rss_mb"] == {"envoy": 70.0} and doc["up_to_healthy_s"] is None
    json.dumps(doc)  # serialisable as it is


def test_console_tables_name_every_row_and_ratio() -> None:
    rows = list(_rows().values())
    text = report.table(rows)
    for name in ROW_NAMES:
        assert name in text
    line = next(x for x in text.splitlines() if x.startswith("get_product_envoy_grpc"))
    assert "0.45" in line  # 900 / 2000 (empty_envoy)
    line = next(x for x in text.splitlines() if x.startswith("get_product_direct"))
    assert "0.25" in line  # 1000 / 4000 (empty_direct)
    assert "products-0" in report.cpu_table(rows)
    assert report.process_group("products-1") == "svc" and report.process_group(f"{FIXTURE}-0") == "svc"
    assert report.process_group("otel-sink") == "obs" and report.process_group("postgres") == "pg"
    assert report.process_group("nats") == "ev" and report.process_group("notifications-1") == "ev"
    assert "MISSED" in report.targets_table(report.targets(_rows(), {}, None))


# -- the empty fixture service -------------------------------------------------------------------------------------


def test_descriptor_set_adds_the_empty_service_with_a_rest_route(tmp_path: Path) -> None:
    out = fixture.write_descriptor_set(DEFAULT_DESCRIPTOR, tmp_path / "bench.binpb")
    files = {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file}
    assert "google/protobuf/empty.proto" in files
    service = files["bench/v1/empty.proto"].service[0]
    assert f"{fixture.PACKAGE}.{service.name}" == fixture.SERVICE
    assert service.method[0].options.Extensions[annotations_pb2.http].post == fixture.REST_PATH
    assert "shopmesh/product/v1/product_service.proto" in files  # the contracts stay
    # Idempotent: writing it from its own output adds nothing twice.
    again = fixture.write_descriptor_set(out, tmp_path / "again.binpb")
    assert len(descriptor_pb2.FileDescriptorSet.FromString(again.read_bytes()).file) == len(files)


def test_the_empty_service_answers_and_reports_serving() -> None:
    server, port = fixture.build_server("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                f"/{fixture.FULL_METHOD}",
                request_serializer=empty_pb2.Empty.SerializeToString,
                response_deserializer=empty_pb2.Empty.FromString,
            )
            assert call(empty_pb2.Empty(), timeout=10) == empty_pb2.Empty()
            health: Any = health_pb2_grpc.HealthStub(channel)
            for name in ("", fixture.SERVICE):
                reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(0)


def test_bench_mesh_routes_the_empty_service_like_a_public_rpc(tmp_path: Path) -> None:
    topology = bench_topology(20000)
    bench = topology.service(FIXTURE)
    assert bench.module == "bench.fixture" and bench.replicas == topology.service("products").replicas
    assert fixture.FULL_METHOD in topology.gateway.open_rpcs
    assert topology.gateway.login_rate_per_client == UNLIMITED == topology.gateway.route_rate_limit
    ports = [p for s in topology.services for p in s.ports() + s.metrics_ports()]
    assert len(ports) == len(set(ports)) and all(20000 <= p < 20070 for p in ports)
    descriptor = fixture.write_descriptor_set(DEFAULT_DESCRIPTOR, tmp_path / "bench.binpb")
    config = json.dumps(envoy_config.render(topology, descriptor_path=descriptor))
    assert f'"path": "/{fixture.FULL_METHOD}"' in config or f'"path":"/{fixture.FULL_METHOD}"' in config
    assert f'"clusterName": "{FIXTURE}"' in config or f'"clusterName":"{FIXTURE}"' in config


# -- rows and options ------------------------------------------------------------------------------------------------


def test_every_row_has_a_call() -> None:
    plan = Plan(
        gateway="gw:1", replica={FIXTURE: "b:1", "products": "p:1"}, protoset=Path("x"), product_ids=["a", "b"],
        page_token="tok", emails=["u@example.com"], token="jwt", card_year=2030,
    )  # fmt: skip
    calls = {name: row_call(name, plan) for name in ROW_NAMES}
    assert {n for n, c in calls.items() if isinstance(c, WrkCall)} == {
        "get_product_envoy_rest",
        "create_order_rest",
    }
    assert calls["empty_direct"].target == "b:1" and calls["get_product_direct"].target == "p:1"  # type: ignore[union-attr]
    order = calls["create_order_grpc"]
    assert isinstance(order, GhzCall) and order.metadata == {"authorization": "Bearer jwt"}
    assert {d["request_id"] for d in order.data} == {"{{.UUID}}"}  # a fresh idempotency key per call
    page = calls["list_products_page1000"]
    assert isinstance(page, GhzCall) and page.data == [{"page_size": 50, "page_token": "tok"}]
    rest = calls["create_order_rest"]
    assert isinstance(rest, WrkCall) and '"request_id":"{uid}"' in rest.body
    with pytest.raises(ValueError, match="unknown row"):
        row_call("nope", plan)


def test_command_line_help_and_row_selection(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for option in ("--db", "--duration", "--concurrency", "--repetitions", "--rows", "--tracing"):
        assert option in text
    args = cli.parser().parse_args(["--rows", "login,empty_envoy", "--db", "sqlite"])
    assert args.rows == ("login", "empty_envoy") and args.db == "sqlite"
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["--rows", "nope"])


# -- the growth phase ------------------------------------------------------------------------------------------------


def test_growth_targets_only_when_their_rows_ran() -> None:
    rows = _rows()
    assert not [t for t in report.targets(rows, {}, None) if "ListOrders" in t.text or "seeded" in t.text]
    rows["create_order_grpc_grown"] = _row("create_order_grpc_grown", 280)  # 280 / 300
    rows["list_orders_10"] = _row("list_orders_10", 200, p50=10.0)
    rows["list_orders_1000_first"] = _row("list_orders_1000_first", 190, p50=11.0)
    rows["list_orders_1000_last"] = _row("list_orders_1000_last", 150, p50=13.0)
    found = {t.text: t for t in report.targets(rows, {}, None)}
    grown = found["CreateOrder (gRPC) with 1,000,000 orders seeded / on the empty table, req/s"]
    assert grown.value == pytest.approx(280 / 300) and grown.met
    first = found["ListOrders of a buyer with 1,000 orders, first page / a buyer with 10, p50 latency"]
    last = found["ListOrders of a buyer with 1,000 orders, last page / a buyer with 10, p50 latency"]
    assert first.value == pytest.approx(1.1) and first.met
    assert last.value == pytest.approx(1.3) and not last.met
    assert set(report.GROWTH_ROWS) == {"create_order_grpc_grown", *growth.LIST_ROWS}
    assert not set(report.GROWTH_ROWS) & set(ROW_NAMES)  # never in a default run
    text = report.table(list(rows.values()))
    assert "list_orders_1000_last" in text


def test_growth_rows_call_the_seeded_buyers() -> None:
    plan = Plan(
        gateway="gw:1", replica={FIXTURE: "b:1", "products": "p:1"}, protoset=Path("x"), product_ids=["a"],
        page_token="", emails=["u@example.com"], token="jwt", card_year=2030,
    )  # fmt: skip
    with pytest.raises(ValueError, match="growth"):
        row_call("list_orders_10", plan)
    assert row_call("create_order_grpc_grown", plan) == row_call("create_order_grpc", plan)
    plan = dataclasses.replace(plan, growth=growth.GrowthPlan("heavy", "light", "last-token"))
    calls = {name: row_call(name, plan) for name in growth.LIST_ROWS}
    assert all(isinstance(c, GhzCall) and c.call.endswith("OrderService.ListOrders") for c in calls.values())
    assert calls["list_orders_10"].metadata == {"authorization": "Bearer light"}  # type: ignore[union-attr]
    first, last = calls["list_orders_1000_first"], calls["list_orders_1000_last"]
    assert isinstance(first, GhzCall) and isinstance(last, GhzCall)
    assert first.metadata == last.metadata == {"authorization": "Bearer heavy"}
    assert first.data == [{"page_size": growth.PAGE_SIZE}]
    assert last.data == [{"page_size": growth.PAGE_SIZE, "page_token": "last-token"}]
    args = cli.parser().parse_args(["--growth", "--growth-orders", "500", "--rows", "create_order_grpc"])
    assert args.growth and args.growth_orders == 500 and args.growth_users == 100_000
    assert not cli.parser().parse_args([]).growth


def test_growth_owners_spread_the_named_buyers_over_the_history() -> None:
    owned = list(growth.owners(50, 5, 20, 3))
    assert len(owned) == 50
    counts = {user: owned.count(user) for user in set(owned)}
    assert counts == {0: 20, 1: 3, 2: 9, 3: 9, 4: 9}
    heavy = [i for i, user in enumerate(owned) if user == 0]
    assert heavy[0] < 5 and heavy[-1] > 45  # from the oldest orders to the newest
    big = list(growth.owners(1_000_000, 100_000, 1000, 10))
    assert big.count(0) == 1000 and big.count(1) == 10 and max(big) == 99_999
    with pytest.raises(ValueError):
        list(growth.owners(10, 2, 5, 1))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_growth_seeding_writes_the_rows_the_service_would(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgresql":
        pg = request.getfixturevalue("postgres")
        suffix = uuid.uuid4().hex[:8]
        urls = {
            name: pg.create_database(f"growth_{name}_{suffix}") for name in ("users", "products", "orders")
        }
    else:
        urls = {name: f"sqlite:///{tmp_path / name}.sqlite3" for name in ("users", "products", "orders")}
    seed.seed_products(urls["products"], 10, stock=5)
    products = growth.sample_products(urls["products"], 4)
    assert len(products) == 4 and len({p.id for p in products}) == 4
    user_ids = growth.seed_users(urls["users"], 5)
    written, items = growth.seed_orders(urls["orders"], user_ids, products, 50, heavy=20, light=3)
    assert written == 50 and items == sum(1 + k % 3 for k in range(50))

    users_db = Database(urls["users"])
    try:
        with users_db.snapshot() as conn:
            emails = conn.execute(sa.select(user_models.users.c.email)).scalars().all()
            hashes = set(conn.execute(sa.select(user_models.users.c.password_hash)).scalars())
            events = conn.execute(sa.select(sa.func.count()).select_from(user_models.outbox)).scalar_one()
        assert sorted(emails) == sorted(growth.growth_email(i) for i in range(5))
        assert len(hashes) == 1 and Passwords().verify(hashes.pop(), seed.PASSWORD)
        assert events == 2  # the two buyers who log in
    finally:
        users_db.dispose()

    db = Database(urls["orders"])
    try:
        with db.snapshot() as conn:
            repo = OrderRepository(conn)
            heavy: list[domain.Order] = []
            before = None
            while True:
                page, before = repo.page(user_ids[0], before, 7)
                heavy += page
                if before is None:
                    break
            light, _ = repo.page(user_ids[1], None, 50)
            everyone, _ = repo.page(None, None, 100)
        assert len(heavy) == 20 and len(light) == 3 and len(everyone) == 50
        assert [o.create_time for o in heavy] == sorted((o.create_time for o in heavy), reverse=True)
        assert len({(o.user_id, o.request_id) for o in everyone}) == 50
        for order in everyone:
            assert order.status == domain.CONFIRMED and order.payment_id and not order.failure_reason
            assert 1 <= len(order.lines) <= 3 and all(line.title and line.unit_price for line in order.lines)
            assert order.total == domain.sum_lines(order.lines)
            assert order.fingerprint == domain.fingerprint(order.user_id, order.lines)
            assert order.lease_until is not None and not order.cancel_requested
            uuid.UUID(order.request_id)
        with db.snapshot() as conn:
            again = OrderRepository(conn).by_request_id(heavy[0].user_id, heavy[0].request_id)
        assert again is not None and again.id == heavy[0].id
    finally:
        db.dispose()
