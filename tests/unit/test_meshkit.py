"""Unit tests of meshkit's pure pieces: money, paging, names, cards, conversions, statuses, db, create_once, settings."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.rpc import error_details_pb2, status_pb2
from google.type import money_pb2

from meshkit import errors, paging
from meshkit.calls import CallPath, WrappingRegistrar
from meshkit.cards import Card, check_card
from meshkit.convert import money_from_proto
from meshkit.create_once import (
    KEY_COLUMN,
    CreateOnce,
    RequestIdReused,
    add_request_id_column,
    by_request_id,
    request_id_column,
)
from meshkit.db import Database, Migration, UTCDateTime, insert_if_absent, migrate
from meshkit.errors import FieldViolation, Violations
from meshkit.metrics import Metrics
from meshkit.money import Money
from meshkit.names import check_name, parse_name
from meshkit.settings import Env, SettingsError, load_server_settings
from meshkit.status import to_status

TODAY = dt.date(2025, 6, 15)
VALID_CARD = "4242424242424242"


def _violated_fields(violations: Violations) -> set[str]:
    """The fields a Violations collected (read back through the error it raises)."""
    if not violations:
        return set()
    with pytest.raises(errors.InvalidArgument) as info:
        violations.raise_if_any()
    return {v.field for v in info.value.violations}


# --- meshkit.money ----------------------------------------------------------------------------------


def test_money_of_counts_units_and_nanos_in_nanos() -> None:
    amount = Money.of("USD", 12, 340_000_000)
    assert amount.nanos_total == 12_340_000_000
    assert (amount.units, amount.nanos) == (12, 340_000_000)


def test_money_addition_keeps_currency_and_sums_exactly() -> None:
    total = Money.of("EUR", 0, 100_000_000) + Money.of("EUR", 0, 200_000_000)
    assert total == Money.of("EUR", 0, 300_000_000)
    assert total.currency == "EUR"


def test_money_addition_across_currencies_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot add EUR to USD"):
        _ = Money.of("USD", 1) + Money.of("EUR", 1)


def test_money_times_multiplies_the_amount() -> None:
    assert Money.of("USD", 2, 500_000_000).times(3) == Money.of("USD", 7, 500_000_000)
    assert Money.of("USD", 9, 990_000_000).times(0) == Money.zero("USD")


@pytest.mark.parametrize(
    ("nanos_total", "units", "nanos"),
    [
        (1_500_000_000, 1, 500_000_000),
        (-1_500_000_000, -1, -500_000_000),
        (-1, 0, -1),
        (-2_000_000_000, -2, 0),
        (0, 0, 0),
    ],
)
def test_money_units_and_nanos_follow_the_google_type_money_sign_convention(
    nanos_total: int, units: int, nanos: int
) -> None:
    amount = Money("USD", nanos_total)
    assert (amount.units, amount.nanos) == (units, nanos)
    assert Money.of("USD", amount.units, amount.nanos) == amount


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Money.of("USD", 12, 500_000_000), "12.50 USD"),
        (Money.of("USD", 3), "3.00 USD"),
        (Money.of("JPY", 0, 1), "0.000000001 JPY"),
        (Money.of("EUR", -1, -250_000_000), "-1.25 EUR"),
        (Money.zero("GBP"), "0.00 GBP"),
    ],
)
def test_money_str_shows_at_least_two_decimals_and_the_currency(amount: Money, text: str) -> None:
    assert str(amount) == text


# --- meshkit.paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "effective"),
    [(0, paging.DEFAULT_PAGE_SIZE), (1, 1), (1000, 1000), (1001, 1000), (10**9, 1000)],
)
def test_page_size_defaults_zero_and_clamps_large_values(requested: int, effective: int) -> None:
    assert paging.DEFAULT_PAGE_SIZE == 50
    assert paging.page_size(requested) == effective


def test_negative_page_size_is_invalid_argument_naming_page_size() -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        paging.page_size(-1)
    assert [v.field for v in info.value.violations] == ["page_size"]


@pytest.mark.parametrize(("after", "scope"), [(0, ""), (41, ""), (987_654_321, "category=books")])
def test_page_token_round_trips_position_within_its_scope(after: int, scope: str) -> None:
    token = paging.encode_token(after, scope)
    assert "=" not in token  # padding is stripped: safe in URLs
    assert paging.decode_token(token, scope) == after


def test_empty_page_token_means_the_first_page() -> None:
    assert paging.decode_token("") is None
    assert paging.decode_token("", scope="category=books") is None


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "!!!!",
        "e30",
        "WzEsMl0",
        "eyJhIjoieCIsInMiOiIifQ",
        "eyJhIjp0cnVlLCJzIjoiIn0",
        paging.encode_token(2**70),
        paging.encode_token(-1),
    ],
)
def test_garbage_page_token_is_invalid_argument_naming_page_token(token: str) -> None:
    # e30 is {}, WzEsMl0 is [1,2], then {"a":"x","s":""} and {"a":true,"s":""}; a key must fit a BIGINT.
    with pytest.raises(errors.InvalidArgument) as info:
        paging.decode_token(token)
    assert [v.field for v in info.value.violations] == ["page_token"]


def test_page_token_from_another_scope_is_invalid_argument_naming_page_token() -> None:
    token = paging.encode_token(7, scope="category=books")
    with pytest.raises(errors.InvalidArgument) as info:
        paging.decode_token(token, scope="category=games")
    assert [v.field for v in info.value.violations] == ["page_token"]
    assert "different filter" in info.value.violations[0].description


# --- meshkit.names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("resource_id", ["0123abcd", "a", "order-7", "0123456789abcdef0123456789abcdef"])
def test_parse_name_returns_the_id(resource_id: str) -> None:
    assert parse_name(f"orders/{resource_id}", "orders", "order") == resource_id


@pytest.mark.parametrize(
    "value",
    [
        "products/0123abcd",  # wrong collection
        "orders",  # no id
        "orders/",  # empty id
        "orders/ABC",  # upper case
        "orders/a_b",  # underscore
        "orders/-abc",  # leading dash
        "orders/a/b",  # nested
        "orders/" + "a" * 65,  # too long
    ],
)
def test_parse_name_rejects_malformed_names_naming_the_field(value: str) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        parse_name(value, "orders", "order")
    assert [v.field for v in info.value.violations] == ["order"]
    assert repr(value) in info.value.violations[0].description


def test_parse_name_reports_an_empty_name_as_required() -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        parse_name("", "users", "name")
    (violation,) = info.value.violations
    assert violation.field == "name"
    assert violation.description.startswith("is required")


def test_check_name_returns_the_id_without_violations() -> None:
    violations = Violations()
    assert check_name("payments/abc123", "payments", "payment", violations) == "abc123"
    assert not violations


def test_check_name_records_a_violation_and_returns_none() -> None:
    violations = Violations()
    assert check_name("users/abc", "orders", "order", violations) is None
    assert check_name("", "users", "user", violations) is None
    assert _violated_fields(violations) == {"order", "user"}


# --- meshkit.cards ----------------------------------------------------------------------------------


def _check(
    number: str = VALID_CARD, exp_month: int = 12, exp_year: int = 2030, cvc: str = "123"
) -> tuple[Card | None, set[str]]:
    violations = Violations()
    card = check_card(
        number, exp_month, exp_year, cvc, prefix="payment.card", today=TODAY, violations=violations
    )
    return card, _violated_fields(violations)


@pytest.mark.parametrize("number", [VALID_CARD, "4242 4242 4242 4242", "4242-4242-4242-4242"])
def test_valid_card_is_accepted_with_separators_removed(number: str) -> None:
    card, fields = _check(number=number)
    assert fields == set()
    assert card == Card(VALID_CARD, 12, 2030, "123")
    assert card.last4 == "4242"


def test_card_expiring_this_month_is_still_valid() -> None:
    card, fields = _check(exp_month=TODAY.month, exp_year=TODAY.year)
    assert fields == set()
    assert card is not None


@pytest.mark.parametrize(
    ("number", "field_error"),
    [
        ("4242424242424241", "Luhn"),
        ("42424242", "12 to 19 digits"),
        ("4242424242424242424242", "12 to 19 digits"),
        ("4242abcd42424242", "12 to 19 digits"),
        ("424242424242424\u00b2", "12 to 19 digits"),  # superscript two: a digit to str.isdigit()
        (
            "\uff14\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff12",
            "12 to 19 digits",
        ),
        ("", "is required"),
        (" - ", "is required"),
    ],
)
def test_bad_card_number_is_one_violation(number: str, field_error: str) -> None:
    violations = Violations()
    card = check_card(number, 12, 2030, "123", prefix="card", today=TODAY, violations=violations)
    assert card is None
    with pytest.raises(errors.InvalidArgument) as info:
        violations.raise_if_any()
    (violation,) = info.value.violations
    assert violation.field == "card.card_number"
    assert field_error in violation.description


@pytest.mark.parametrize("exp_month", [0, 13, -1])
def test_month_outside_1_to_12_is_a_violation(exp_month: int) -> None:
    card, fields = _check(exp_month=exp_month)
    assert card is None
    assert fields == {"payment.card.exp_month"}


@pytest.mark.parametrize(("exp_month", "exp_year"), [(5, 2025), (12, 2024), (1, 2000)])
def test_expired_card_is_a_violation_on_exp_year(exp_month: int, exp_year: int) -> None:
    card, fields = _check(exp_month=exp_month, exp_year=exp_year)
    assert card is None
    assert fields == {"payment.card.exp_year"}


@pytest.mark.parametrize("exp_year", [0, 999, 10000, 30])
def test_year_that_is_not_four_digits_is_a_violation(exp_year: int) -> None:
    _, fields = _check(exp_year=exp_year)
    assert fields == {"payment.card.exp_year"}


@pytest.mark.parametrize("cvc", ["1", "12", "12345", "abc", "12a", "", "\u00b9\u00b2\u00b3"])
def test_cvc_must_be_three_or_four_digits(cvc: str) -> None:
    card, fields = _check(cvc=cvc)
    assert card is None
    assert fields == {"payment.card.cvc"}


@pytest.mark.parametrize("cvc", ["123", "1234", "007"])
def test_three_and_four_digit_cvcs_are_accepted(cvc: str) -> None:
    card, fields = _check(cvc=cvc)
    assert fields == set()
    assert card is not None and card.cvc == cvc


def test_every_bad_card_field_is_reported_at_once() -> None:
    card, fields = _check(number="1234567890123", exp_month=13, exp_year=99, cvc="x")
    assert card is None
    assert fields == {
        "payment.card.card_number",
        "payment.card.exp_month",
        "payment.card.exp_year",
        "payment.card.cvc",
    }


def test_card_repr_never_shows_the_full_number() -> None:
    card, _ = _check(number="4111 1111 1111 1111", exp_month=3, exp_year=2031)
    assert card is not None
    text = repr(card)
    assert "4111111111111111" not in text
    assert "111111111111" not in text
    assert text == "Card(****1111, 03/2031)"
    assert str(card) == text


# --- meshkit.convert --------------------------------------------------------------------------------


def _money(
    field: str = "price", *, positive: bool = False, **kwargs: str | int
) -> tuple[Money | None, dict[str, str]]:
    violations = Violations()
    value = money_from_proto(money_pb2.Money(**kwargs), field, violations, positive=positive)
    found: dict[str, str] = {}
    if violations:
        with pytest.raises(errors.InvalidArgument) as info:
            violations.raise_if_any()
        found = {v.field: v.description for v in info.value.violations}
    return value, found


def test_money_from_proto_accepts_a_well_formed_amount() -> None:
    value, found = _money(currency_code="USD", units=19, nanos=990_000_000)
    assert found == {}
    assert value == Money.of("USD", 19, 990_000_000)


def test_money_from_proto_accepts_zero_unless_positive_is_required() -> None:
    assert _money(currency_code="USD") == (Money.zero("USD"), {})
    value, found = _money(positive=True, currency_code="USD")
    assert value is None
    assert list(found) == ["price"]
    assert "more than zero" in found["price"]


@pytest.mark.parametrize("code", ["", "usd", "US", "USDX", "U5D"])
def test_money_from_proto_rejects_a_bad_currency_code(code: str) -> None:
    value, found = _money(currency_code=code, units=1)
    assert value is None
    assert list(found) == ["price.currency_code"]


@pytest.mark.parametrize("nanos", [1_000_000_000, -1_000_000_000, 2_000_000_000])
def test_money_from_proto_rejects_nanos_out_of_range(nanos: int) -> None:
    value, found = _money(currency_code="USD", units=0, nanos=nanos)
    assert value is None
    assert list(found) == ["price.nanos"]


@pytest.mark.parametrize(("units", "nanos"), [(1, -1), (-1, 1)])
def test_money_from_proto_rejects_mixed_signs(units: int, nanos: int) -> None:
    value, found = _money(currency_code="USD", units=units, nanos=nanos)
    assert value is None
    assert list(found) == ["price.nanos"]
    assert "same sign" in found["price.nanos"]


@pytest.mark.parametrize(("units", "nanos"), [(-1, 0), (0, -1), (-3, -500_000_000)])
def test_money_from_proto_rejects_negative_amounts(units: int, nanos: int) -> None:
    value, found = _money(currency_code="USD", units=units, nanos=nanos)
    assert value is None
    assert list(found) == ["price"]
    assert "negative" in found["price"]


def test_money_from_proto_reports_currency_and_amount_together() -> None:
    value, found = _money("amount", positive=True, currency_code="usd")
    assert value is None
    assert set(found) == {"amount.currency_code", "amount"}


# --- meshkit.status ---------------------------------------------------------------------------------


def _decode(status: grpc.Status) -> status_pb2.Status:
    metadata = dict(status.trailing_metadata)
    decoded = status_pb2.Status()
    decoded.ParseFromString(metadata["grpc-status-details-bin"])
    return decoded


def test_invalid_argument_status_carries_error_info_and_every_bad_field() -> None:
    error = errors.InvalidArgument(
        "order.items[0].quantity",
        "must be positive",
        more=[FieldViolation("order.email", "is required")],
    )
    status = to_status(error, "orders.shopmesh.dev")

    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert status.details == "order.items[0].quantity: must be positive; order.email: is required"
    decoded = _decode(status)
    assert decoded.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert decoded.message == status.details
    info_any, bad_any = decoded.details
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert info_any.Unpack(info) and bad_any.Unpack(bad)
    assert (info.reason, info.domain) == ("INVALID_ARGUMENT", "orders.shopmesh.dev")
    assert dict(info.metadata) == {"field": "order.items[0].quantity"}
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("order.items[0].quantity", "must be positive"),
        ("order.email", "is required"),
    ]


def test_not_found_status_carries_error_info_only() -> None:
    error = errors.NotFound("order orders/x1 does not exist", reason="ORDER_NOT_FOUND", metadata={"o": "x1"})
    status = to_status(error, "orders.shopmesh.dev")

    assert status.code == grpc.StatusCode.NOT_FOUND
    assert status.details == "order orders/x1 does not exist"
    decoded = _decode(status)
    (info_any,) = decoded.details
    info = error_details_pb2.ErrorInfo()
    assert info_any.Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "ORDER_NOT_FOUND",
        "orders.shopmesh.dev",
        {"o": "x1"},
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.AlreadyExists("x"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.FailedPrecondition("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.Aborted("x"), grpc.StatusCode.ABORTED),
        (errors.Unauthenticated("x"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.PermissionDenied("x"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.Unavailable("x"), grpc.StatusCode.UNAVAILABLE),
        (errors.DependencyFailed("x"), grpc.StatusCode.INTERNAL),
        (errors.ServiceError("x"), grpc.StatusCode.INTERNAL),
    ],
)
def test_each_service_error_maps_to_its_status_code_with_default_reason(
    error: errors.ServiceError, code: grpc.StatusCode
) -> None:
    status = to_status(error, "test.shopmesh.dev")
    assert status.code == code
    (info_any,) = _decode(status).details
    info = error_details_pb2.ErrorInfo()
    assert info_any.Unpack(info)
    assert info.reason == type(error).default_reason


# --- meshkit.db -------------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'nested' / 'meshkit.sqlite3'}")
    try:
        yield db
    finally:
        db.dispose()


def _widgets_metadata(*extra_columns: str) -> tuple[sa.MetaData, sa.Table]:
    """The widgets schema of one release: its base columns plus those its migrations added."""
    metadata = sa.MetaData()
    widgets = sa.Table(
        "widgets",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        *(sa.Column(name, sa.Text) for name in extra_columns),
    )
    return metadata, widgets


def _schema_version(db: Database) -> int:
    with db.snapshot() as conn:
        return int(conn.execute(sa.text("SELECT version FROM schema_version WHERE id = 1")).scalar_one())


def _columns(db: Database, table: str) -> set[str]:
    with db.snapshot() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _add_column(name: str, applied: list[str]) -> Migration:
    def apply(conn: sa.Connection) -> None:
        applied.append(name)
        conn.execute(sa.text(f"ALTER TABLE widgets ADD COLUMN {name} TEXT"))

    return Migration(f"add widgets.{name}", apply)


def test_migrate_creates_tables_and_stamps_the_latest_version(database: Database) -> None:
    metadata, _ = _widgets_metadata()
    applied: list[str] = []
    steps = [_add_column("colour", applied), _add_column("size", applied)]

    assert migrate(database, metadata, steps) == 2
    assert _schema_version(database) == 2
    assert _columns(database, "widgets") == {"id", "code"}
    assert applied == []  # a fresh database gets the current tables, not the history


def test_migrate_twice_is_a_no_op(database: Database) -> None:
    metadata, widgets = _widgets_metadata()
    applied: list[str] = []
    steps = [_add_column("colour", applied)]
    migrate(database, metadata, steps)
    with database.transaction() as conn:
        conn.execute(widgets.insert().values(id=1, code="w-1"))

    assert migrate(database, metadata, steps) == 1
    assert applied == []
    assert _schema_version(database) == 1
    with database.snapshot() as conn:
        assert conn.execute(sa.select(widgets.c.code)).scalars().all() == ["w-1"]


def test_migrate_applies_only_the_new_step(database: Database) -> None:
    applied: list[str] = []
    colour, size = _add_column("colour", applied), _add_column("size", applied)
    migrate(database, _widgets_metadata("colour")[0], [colour])  # release 1 creates the schema
    assert applied == []

    assert migrate(database, _widgets_metadata("colour", "size")[0], [colour, size]) == 2  # release 2
    assert applied == ["size"]
    assert _schema_version(database) == 2
    assert _columns(database, "widgets") == {"id", "code", "colour", "size"}


def test_migrate_refuses_a_database_newer_than_the_code(database: Database) -> None:
    metadata, _ = _widgets_metadata()
    migrate(database, metadata, [_add_column("colour", [])])

    with pytest.raises(RuntimeError, match=r"version 1 is newer than this code \(0\)"):
        migrate(database, metadata, [])
    assert _schema_version(database) == 1


def test_insert_if_absent_inserts_once_per_unique_key(database: Database) -> None:
    metadata, widgets = _widgets_metadata()
    migrate(database, metadata)
    with database.transaction() as conn:
        assert insert_if_absent(conn, widgets, {"id": 1, "code": "w-7"}) is True
        assert insert_if_absent(conn, widgets, {"id": 2, "code": "w-7"}) is False
    with database.snapshot() as conn:
        rows = conn.execute(sa.select(widgets.c.id, widgets.c.code)).all()
    assert [tuple(r) for r in rows] == [(1, "w-7")]


def _events_table() -> tuple[sa.MetaData, sa.Table]:
    metadata = sa.MetaData()
    events = sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=True),
    )
    return metadata, events


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2023, 12, 31, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    ],
)
def test_utc_datetime_round_trips_aware_datetimes_as_utc(database: Database, moment: dt.datetime) -> None:
    metadata, events = _events_table()
    migrate(database, metadata)
    with database.transaction() as conn:
        conn.execute(events.insert().values(id=1, at=moment))
    with database.snapshot() as conn:
        stored = conn.execute(sa.select(events.c.at)).scalar_one()
    assert stored == moment
    assert stored.utcoffset() == dt.timedelta(0)


def test_utc_datetime_keeps_null(database: Database) -> None:
    metadata, events = _events_table()
    migrate(database, metadata)
    with database.transaction() as conn:
        conn.execute(events.insert().values(id=1, at=None))
        assert conn.execute(sa.select(events.c.at)).scalar_one() is None


def test_utc_datetime_rejects_naive_datetimes(database: Database) -> None:
    metadata, events = _events_table()
    migrate(database, metadata)
    with pytest.raises(sa.exc.StatementError) as info, database.transaction() as conn:
        conn.execute(events.insert().values(id=1, at=dt.datetime(2024, 1, 1, 12, 0)))
    assert isinstance(info.value.orig, ValueError)
    assert "naive datetime" in str(info.value.orig)
    with database.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 0


# --- meshkit.create_once ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Widget:
    id: str
    code: str
    colour: str


class _CodeTaken(errors.AlreadyExists):
    def __init__(self) -> None:
        super().__init__("that code is taken", reason="CODE_TAKEN")


def _keyed_widgets(*, with_key: bool = True) -> tuple[sa.MetaData, sa.Table]:
    """Widgets with a unique code, made by a create call (with the key column from its second release)."""
    metadata = sa.MetaData()
    key = [request_id_column()] if with_key else []
    widgets = sa.Table(
        "widgets",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("colour", sa.Text, nullable=False),
        *key,
    )
    return metadata, widgets


class _Widgets:
    """A service that creates widgets once per request_id; `built` counts the widgets it built."""

    def __init__(
        self, db: Database, table: sa.Table, before_insert: Callable[[], object] = lambda: None
    ) -> None:
        self.table = table
        self.built = 0
        self.announced: list[_Widget] = []
        self._before_insert = before_insert
        query = by_request_id(table)

        def find(conn: sa.Connection, key: str) -> _Widget | None:
            row = conn.execute(query, {"request_id": key}).first()
            return _Widget(row.id, row.code, row.colour) if row else None

        self._creates = CreateOnce(db, find, "for a different widget")

    def create(self, code: str, colour: str, request_id: str = "") -> _Widget:
        def build() -> _Widget:
            self.built += 1
            self._before_insert()
            return _Widget(uuid.uuid4().hex, code, colour)

        def add(conn: sa.Connection, widget: _Widget) -> bool:
            values = {"id": widget.id, "code": code, "colour": colour, KEY_COLUMN: request_id or None}
            return insert_if_absent(conn, self.table, values)

        return self._creates.create(
            request_id,
            is_replay=lambda existing: (existing.code, existing.colour) == (code, colour),
            build=build,
            add=add,
            announce=lambda conn, widget: self.announced.append(widget),
            taken=_CodeTaken,
        )


@pytest.fixture
def widgets(database: Database) -> _Widgets:
    metadata, table = _keyed_widgets()
    migrate(database, metadata)
    return _Widgets(database, table)


def _widget_rows(db: Database, table: sa.Table) -> list[tuple[Any, ...]]:
    with db.snapshot() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table.c.code, table.c[KEY_COLUMN]).order_by("code"))]


def test_create_once_answers_a_replay_with_the_first_resource_without_building_another(
    widgets: _Widgets, database: Database
) -> None:
    first = widgets.create("w-1", "red", request_id="k-1")
    assert widgets.create("w-1", "red", request_id="k-1") == first
    assert (widgets.built, widgets.announced) == (1, [first])
    assert _widget_rows(database, widgets.table) == [("w-1", "k-1")]


def test_create_once_refuses_a_key_reused_for_another_request_naming_only_the_key(
    widgets: _Widgets, database: Database
) -> None:
    widgets.create("w-1", "red", request_id="k-1")
    for code, colour in (("w-2", "red"), ("w-1", "blue")):
        with pytest.raises(RequestIdReused) as info:
            widgets.create(code, colour, request_id="k-1")
        assert isinstance(info.value, errors.AlreadyExists)
        assert (info.value.reason, info.value.metadata) == ("REQUEST_ID_REUSED", {"request_id": "k-1"})
        assert info.value.message == "request_id 'k-1' was already used for a different widget"
    assert _widget_rows(database, widgets.table) == [("w-1", "k-1")]


def test_create_once_raises_taken_when_another_unique_key_refuses_the_row(widgets: _Widgets) -> None:
    widgets.create("w-1", "red", request_id="k-1")
    for key in ("k-2", ""):
        with pytest.raises(_CodeTaken):
            widgets.create("w-1", "red", request_id=key)
    assert len(widgets.announced) == 1


def test_create_once_without_a_key_creates_each_time(widgets: _Widgets, database: Database) -> None:
    widgets.create("w-1", "red")
    widgets.create("w-2", "red")
    assert _widget_rows(database, widgets.table) == [("w-1", None), ("w-2", None)]


def test_concurrent_calls_with_one_key_insert_once_and_the_losers_get_the_winners_answer(
    database: Database,
) -> None:
    metadata, table = _keyed_widgets()
    migrate(database, metadata)
    calls = 6
    # Every call builds its widget before any inserts: all of them race on the constraint, none is a replay yet.
    everyone_built = threading.Barrier(calls, timeout=30)
    widgets = _Widgets(database, table, before_insert=everyone_built.wait)
    colours = ["red" if i % 2 else "blue" for i in range(calls)]

    def call(colour: str) -> _Widget | RequestIdReused:
        try:
            return widgets.create("w-1", colour, request_id="k-1")
        except RequestIdReused as exc:
            return exc

    with futures.ThreadPoolExecutor(max_workers=calls) as pool:
        answers = list(pool.map(call, colours))
    assert widgets.built == calls
    assert len(widgets.announced) == 1  # only the insert that won announces
    (winner,) = {a for a in answers if isinstance(a, _Widget)}
    for colour, answer in zip(colours, answers, strict=True):
        assert answer == winner if colour == winner.colour else isinstance(answer, RequestIdReused)
    assert _widget_rows(database, table) == [("w-1", "k-1")]


class _Recorder:
    """A connection that records the SQL run on it."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, statement: Any) -> None:
        self.statements.append(str(statement))


def test_the_shipped_key_migration_runs_the_sql_it_shipped_with() -> None:
    step = add_request_id_column("users", "CreateUser")
    recorder = _Recorder()
    step.apply(recorder)  # type: ignore[arg-type]
    assert step.description == "users.create_request_id: idempotent CreateUser"
    assert recorder.statements == [
        "ALTER TABLE users ADD COLUMN create_request_id VARCHAR(128)",
        "CREATE UNIQUE INDEX users_create_request_id ON users (create_request_id)",
    ]


def test_the_key_migration_gives_an_older_table_a_unique_key_that_create_once_uses(
    database: Database,
) -> None:
    migrate(database, _keyed_widgets(with_key=False)[0])  # the release before the key
    with database.transaction() as conn:
        conn.execute(sa.text("INSERT INTO widgets (id, code, colour) VALUES ('old', 'w-0', 'red')"))
    metadata, table = _keyed_widgets()
    assert migrate(database, metadata, [add_request_id_column("widgets", "CreateWidget")]) == 1
    with database.snapshot() as conn:
        indexes = sa.inspect(conn).get_indexes("widgets")
    assert [(i["name"], i["column_names"], i["unique"]) for i in indexes] == [
        ("widgets_create_request_id", [KEY_COLUMN], 1)
    ]
    widgets = _Widgets(database, table)
    first = widgets.create("w-1", "red", request_id="k-1")
    assert widgets.create("w-1", "red", request_id="k-1") == first
    with pytest.raises(RequestIdReused):
        widgets.create("w-2", "red", request_id="k-1")
    assert _widget_rows(database, table) == [("w-0", None), ("w-1", "k-1")]


# --- meshkit.settings -------------------------------------------------------------------------------


def test_env_integer_reads_prefixed_variables_and_defaults_when_unset_or_empty() -> None:
    env = Env("SVC_TEST", {"SVC_TEST_PORT": "8080", "SVC_TEST_WORKERS": ""})
    assert env.integer("PORT", 1) == 8080
    assert env.integer("WORKERS", 16) == 16
    assert env.integer("MISSING", 3) == 3


@pytest.mark.parametrize("value", ["eighty", "8.5", "0x10"])
def test_env_integer_parse_error_names_the_variable(value: str) -> None:
    env = Env("SVC_TEST", {"SVC_TEST_PORT": value})
    with pytest.raises(SettingsError, match=r"^SVC_TEST_PORT=.* is not an integer$"):
        env.integer("PORT", 1)


@pytest.mark.parametrize(("value", "bounds"), [("0", "[1, 10]"), ("11", "[1, 10]"), ("-3", "[1, 10]")])
def test_env_integer_outside_bounds_names_the_variable(value: str, bounds: str) -> None:
    env = Env("SVC_TEST", {"SVC_TEST_WORKERS": value})
    with pytest.raises(SettingsError) as info:
        env.integer("WORKERS", 4, minimum=1, maximum=10)
    assert str(info.value) == f"SVC_TEST_WORKERS={int(value)} is outside {bounds}"


def test_env_integer_accepts_its_bounds() -> None:
    env = Env("SVC_TEST", {"SVC_TEST_LOW": "1", "SVC_TEST_HIGH": "10"})
    assert env.integer("LOW", 5, minimum=1, maximum=10) == 1
    assert env.integer("HIGH", 5, minimum=1, maximum=10) == 10


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("OFF", False),
    ],
)
def test_env_flag_parses_common_spellings(value: str, expected: bool) -> None:
    assert Env("SVC_TEST", {"SVC_TEST_FEATURE": value}).flag("FEATURE", not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_env_flag_defaults_when_unset_or_empty(default: bool) -> None:
    assert Env("SVC_TEST", {}).flag("FEATURE", default) is default
    assert Env("SVC_TEST", {"SVC_TEST_FEATURE": ""}).flag("FEATURE", default) is default


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_env_flag_rejects_other_values_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=rf"^SVC_TEST_FEATURE='{value}': use true or false$"):
        Env("SVC_TEST", {"SVC_TEST_FEATURE": value}).flag("FEATURE", True)


def test_env_without_prefix_reads_the_bare_name() -> None:
    env = Env("", {"SHOPMESH_LOG_LEVEL": "debug", "PORT": "9"})
    assert env.key("PORT") == "PORT"
    assert env.text("SHOPMESH_LOG_LEVEL", "INFO") == "debug"
    assert env.integer("PORT", 1) == 9


def test_env_number_parse_error_and_minimum_name_the_variable() -> None:
    env = Env("SVC_TEST", {"SVC_TEST_GRACE_SECONDS": "soon", "SVC_TEST_DELAY": "-0.5"})
    with pytest.raises(SettingsError, match=r"^SVC_TEST_GRACE_SECONDS='soon' is not a number$"):
        env.number("GRACE_SECONDS", 5.0)
    with pytest.raises(SettingsError, match=r"^SVC_TEST_DELAY='-0.5' must be a finite number >= 0.0$"):
        env.number("DELAY", 1.0)
    for not_finite in ("nan", "inf"):
        with pytest.raises(SettingsError, match="finite"):
            Env("SVC_TEST", {"SVC_TEST_DELAY": not_finite}).number("DELAY", 1.0)
    assert Env("SVC_TEST", {"SVC_TEST_DELAY": "2.5"}).number("DELAY", 1.0) == 2.5


def test_the_call_path_wraps_each_method_once_and_leaves_others_alone() -> None:
    asked: list[str] = []

    class Counting(grpc.GenericRpcHandler):
        def __init__(self, handlers: grpc.GenericRpcHandler) -> None:
            self.handlers = handlers

        def service(self, details: grpc.HandlerCallDetails) -> Any:
            asked.append(details.method)
            return self.handlers.service(details)

    def echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
        if request == b"boom":
            raise errors.NotFound("no boom here", reason="NO_BOOM")
        return request

    handlers = grpc.method_handlers_generic_handler(
        "t.Echo", {"Say": grpc.unary_unary_rpc_method_handler(echo)}
    )
    metrics = Metrics("t", "t-0")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    registrar = WrappingRegistrar(
        server, CallPath(metrics=metrics, domain="t.shopmesh.dev", services=["t.Echo"])
    )
    registrar.add_generic_rpc_handlers((Counting(handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            say = channel.unary_unary("/t.Echo/Say")
            assert [say(b"hi %d" % i, timeout=5) for i in range(3)] == [b"hi 0", b"hi 1", b"hi 2"]
            with pytest.raises(grpc.RpcError) as mapped:
                say(b"boom", timeout=5)
            assert mapped.value.code() == grpc.StatusCode.NOT_FOUND  # a ServiceError, mapped by the path
            for _ in range(2):
                with pytest.raises(grpc.RpcError) as missing:
                    channel.unary_unary("/t.Echo/Nope")(b"", timeout=5)
                assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        server.stop(0)
    assert asked == ["/t.Echo/Say", "/t.Echo/Nope", "/t.Echo/Nope"]  # unknown methods are not remembered
    handled = metrics.registry.get_sample_value(
        "grpc_server_handled_total", {"grpc_service": "t.Echo", "grpc_method": "Say", "grpc_code": "OK"}
    )
    assert handled == 3


def test_the_pool_follows_the_workers_unless_sized() -> None:
    assert load_server_settings("orders", "SVC_ORDER", 0, {}).db_pool_size == 16
    assert load_server_settings("orders", "SVC_ORDER", 0, {"SVC_ORDER_WORKERS": "6"}).db_pool_size == 6
    sized = load_server_settings("orders", "SVC_ORDER", 0, {"SVC_ORDER_DB_POOL_SIZE": "4"})
    assert (sized.workers, sized.db_pool_size) == (16, 4)
    with pytest.raises(SettingsError, match="SVC_ORDER_DB_POOL_SIZE=0 is outside"):
        load_server_settings("orders", "SVC_ORDER", 0, {"SVC_ORDER_DB_POOL_SIZE": "0"})
    engine = Database("postgresql://u:p@127.0.0.1:1/x", pool_size=sized.db_pool_size).engine
    assert engine.pool.size() == 4
