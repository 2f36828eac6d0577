"""The contracts' field rules (protovalidate's buf.validate annotations), enforced on every request.

The rules live in the protos, so every language's client that uses a protovalidate library checks the same
things. Here they are compiled once per message type into plain Python checks: the reference implementation
(protovalidate-python) evaluates each rule as a CEL program, which costs milliseconds per request. This
evaluator covers the rules the contracts use (string length, pattern and email, integer bounds, repeated
sizes, required, ignore-if-zero) and the named CEL rules below; a contract using anything else fails at start,
not silently. tests/unit/test_validation.py checks that it agrees with protovalidate-python.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2
from buf.validate import validate_pb2
from google.protobuf import descriptor, message

from meshkit.errors import FieldViolation, InvalidArgument

# https://html.spec.whatwg.org/multipage/input.html#valid-e-mail-address, as protovalidate defines `email`.
_EMAIL = re2.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
_CURRENCY = re2.compile(r"^[A-Z]{3}$")
_PRODUCT_NAME = re2.compile(r"^products/[a-z0-9][a-z0-9-]{0,63}$")


# An anchored sequence of literals, escapes and character classes, each at most once bounded-repeated (no groups,
# alternation or unbounded repetition): what the contracts' patterns are. Without nesting, Python's re backtracks
# at most over the bounds of adjacent repeats: no pattern of this shape can take exponential time.
_SIMPLE_PATTERN = re.compile(
    r"\^(?:(?:[^\\()|*+?{}\[\]^$.]|\\[^\dbBAzZ]|\[(?:[^\]\\]|\\.)+\])(?:\{\d+(?:,\d+)?\})?)*\$"
)


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """Whether a value matches a contract's `string.pattern` (RE2 syntax, searched as protovalidate does).

    Simple anchored patterns run on Python's re: the RE2 binding costs 8 us a call in Python overhead, a tenth of
    a cached read's CPU, where re takes 0.5 us. RE2's meanings are kept: `$` is the end of the text (Python's
    \\Z; its `$` would also accept a final newline) and classes such as \\d are ASCII. Anything else runs on
    RE2, whose linear time holds whatever the pattern.
    """
    checked = re2.compile(pattern)  # the syntax is RE2's whichever engine runs it
    if _SIMPLE_PATTERN.fullmatch(pattern):
        try:
            fast = re.compile(pattern[:-1] + r"\Z", re.ASCII)
        except re.error:  # an escape RE2 knows and re does not (\\Q, \\C): RE2 it is
            pass
        else:
            return lambda value: fast.match(value) is not None
    return lambda value: checked.search(value) is not None


def _money_non_negative(m: Any) -> bool:
    return bool(m.units >= 0 and m.nanos >= 0 and m.nanos <= 999_999_999)


# Named CEL rules of the contracts and their native equivalents. The expression text must match the proto
# exactly: a changed rule then fails loudly at start until its native twin is updated.
NATIVE_CEL: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "money.currency_code": (
        "this.currency_code.matches('^[A-Z]{3}$')",
        lambda m: _CURRENCY.search(m.currency_code) is not None,
    ),
    "money.not_negative": (
        "this.units >= 0 && this.nanos >= 0 && this.nanos <= 999999999",
        _money_non_negative,
    ),
    "money.positive": (
        "this.units >= 0 && this.nanos >= 0 && this.nanos <= 999999999 && (this.units > 0 || this.nanos > 0)",
        lambda m: _money_non_negative(m) and (m.units > 0 or m.nanos > 0),
    ),
    "product.sku_required": ("this.sku != ''", lambda p: p.sku != ""),
    "product.title_required": ("this.title != ''", lambda p: p.title != ""),
    "product.price_required": ("has(this.price)", lambda p: p.HasField("price")),
    "product.name": (
        "this.name.matches('^products/[a-z0-9][a-z0-9-]{0,63}$')",
        lambda p: _PRODUCT_NAME.search(p.name) is not None,
    ),
}


@dataclass(frozen=True)
class Violation:
    field: str
    rule_id: str
    message: str


Check = Callable[[Any, str, list[Violation]], None]
"""Checks one message at a field-path prefix, appending violations."""


class UnsupportedRule(ValueError):
    """A contract uses a rule this evaluator does not implement."""


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _string_checks(rules: validate_pb2.StringRules, fd: Any) -> list[Callable[[str], Violation | None]]:
    checks: list[Callable[[str], Violation | None]] = []
    supported = {"min_len", "max_len", "pattern", "email"}
    for field, _ in rules.ListFields():
        if field.name not in supported:
            raise UnsupportedRule(f"{fd.full_name}: string.{field.name}")
    if rules.HasField("min_len"):
        n = rules.min_len
        checks.append(
            lambda v: (
                None
                if len(v) >= n
                else Violation("", "string.min_len", f"value length must be at least {n} characters")
            )
        )
    if rules.HasField("max_len"):
        n2 = rules.max_len
        checks.append(
            lambda v: (
                None
                if len(v) <= n2
                else Violation("", "string.max_len", f"value length must be at most {n2} characters")
            )
        )
    if rules.HasField("pattern"):
        matches = compile_pattern(rules.pattern)
        text = rules.pattern
        checks.append(
            lambda v: (
                None
                if matches(v)
                else Violation("", "string.pattern", f"value does not match regex pattern `{text}`")
            )
        )
    if rules.email:
        checks.append(
            lambda v: (
                Violation("", "string.email_empty", "value is empty, which is not a valid email address")
                if not v
                else None
                if _EMAIL.fullmatch(v)
                else Violation("", "string.email", "value must be a valid email address")
            )
        )
    return checks


def _int_checks(rules: validate_pb2.Int32Rules, fd: Any) -> list[Callable[[int], Violation | None]]:
    for field, _ in rules.ListFields():
        if field.name not in {"gt", "gte", "lt", "lte"}:
            raise UnsupportedRule(f"{fd.full_name}: int32.{field.name}")
    low = ("gt", rules.gt) if rules.HasField("gt") else ("gte", rules.gte) if rules.HasField("gte") else None
    high = ("lt", rules.lt) if rules.HasField("lt") else ("lte", rules.lte) if rules.HasField("lte") else None
    words = {
        "gt": "greater than",
        "gte": "greater than or equal to",
        "lt": "less than",
        "lte": "less than or equal to",
    }
    ops: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda v, b: v > b, "gte": lambda v, b: v >= b, "lt": lambda v, b: v < b, "lte": lambda v, b: v <= b,
    }  # fmt: skip
    if low and high:
        (lk, lb), (hk, hb) = low, high
        rule = f"int32.{lk}_{hk}"
        text = f"value must be {words[lk]} {lb} and {words[hk]} {hb}"
        return [lambda v: None if ops[lk](v, lb) and ops[hk](v, hb) else Violation("", rule, text)]

    def one_sided(key: str, b: int) -> Callable[[int], Violation | None]:
        rule, text = f"int32.{key}", f"value must be {words[key]} {b}"
        return lambda v: None if ops[key](v, b) else Violation("", rule, text)

    return [one_sided(*bound) for bound in (low, high) if bound]


def _zero(fd: Any, value: Any) -> bool:
    if fd.is_repeated:
        return len(value) == 0
    return bool(value == fd.default_value)


def _compile_field(fd: Any, compile_message: Callable[[Any], Check]) -> Check | None:
    options: Any = fd.GetOptions()
    rules = options.Extensions[validate_pb2.field] if options.HasExtension(validate_pb2.field) else None
    is_message = fd.type == descriptor.FieldDescriptor.TYPE_MESSAGE
    nested = (
        compile_message(fd.message_type)
        if is_message and not fd.message_type.full_name.startswith("google.")
        else None
    )
    if rules is None and nested is None:
        return None
    rules = rules or validate_pb2.FieldRules()
    ignore_if_zero = rules.ignore == validate_pb2.IGNORE_IF_ZERO_VALUE
    kind = rules.WhichOneof("type")
    scalar: list[Callable[[Any], Violation | None]] = []
    size_checks: list[Callable[[Any], Violation | None]] = []
    if kind == "string":
        scalar = list(_string_checks(rules.string, fd))
    elif kind == "int32":
        scalar = list(_int_checks(rules.int32, fd))
    elif kind == "repeated":
        rep = rules.repeated
        for field, _ in rep.ListFields():
            if field.name not in {"min_items", "max_items"}:
                raise UnsupportedRule(f"{fd.full_name}: repeated.{field.name}")
        if rep.HasField("min_items"):
            lo = rep.min_items
            size_checks.append(
                lambda v: (
                    None
                    if len(v) >= lo
                    else Violation("", "repeated.min_items", f"value must contain at least {lo} item(s)")
                )
            )
        if rep.HasField("max_items"):
            hi = rep.max_items
            size_checks.append(
                lambda v: (
                    None
                    if len(v) <= hi
                    else Violation("", "repeated.max_items", f"value must contain no more than {hi} item(s)")
                )
            )
    elif kind is not None:
        raise UnsupportedRule(f"{fd.full_name}: {kind} rules")
    cel: list[tuple[str, str, Callable[[Any], bool]]] = []
    for rule in rules.cel:
        native = NATIVE_CEL.get(rule.id)
        if native is None or native[0] != rule.expression:
            raise UnsupportedRule(
                f"{fd.full_name}: CEL rule {rule.id!r} has no native equivalent of {rule.expression!r}"
            )
        cel.append((rule.id, rule.message, native[1]))
    required = rules.required
    name = fd.name

    def check(msg: Any, prefix: str, out: list[Violation]) -> None:
        path = _path(prefix, name)
        if is_message and not fd.is_repeated:
            if not msg.HasField(name):
                if required:
                    out.append(Violation(path, "required", "value is required"))
                return
            value = getattr(msg, name)
            for rule_id, text, ok in cel:
                if not ok(value):
                    out.append(Violation(path, rule_id, text))
            if nested is not None:
                nested(value, path, out)
            return
        value = getattr(msg, name)
        if ignore_if_zero and _zero(fd, value):
            return
        if required and _zero(fd, value):
            out.append(Violation(path, "required", "value is required"))
            return
        if fd.is_repeated:
            for c in size_checks:
                if (v := c(value)) is not None:
                    out.append(Violation(path, v.rule_id, v.message))
            if nested is not None:
                for i, item in enumerate(value):
                    nested(item, f"{path}[{i}]", out)
            return
        for c in scalar:
            if (v := c(value)) is not None:
                out.append(Violation(path, v.rule_id, v.message))

    return check


class Validator:
    """Compiles each message type's rules on first use; thread-safe."""

    def __init__(self) -> None:
        self._compiled: dict[str, Check] = {}
        self._lock = threading.Lock()

    def _compile(self, desc: Any) -> Check:
        cached = self._compiled.get(desc.full_name)
        if cached is not None:
            return cached
        fields: list[Check] = []

        def run(msg: Any, prefix: str, out: list[Violation]) -> None:
            for check in fields:
                check(msg, prefix, out)

        # Registered before compiling the fields so recursive message types terminate.
        self._compiled[desc.full_name] = run
        for fd in desc.fields:
            compiled = _compile_field(fd, self._compile)
            if compiled is not None:
                fields.append(compiled)
        return run

    def violations(self, msg: message.Message) -> list[Violation]:
        check = self._compiled.get(msg.DESCRIPTOR.full_name)
        if check is None:
            with self._lock:
                check = self._compile(msg.DESCRIPTOR)
        out: list[Violation] = []
        check(msg, "", out)
        return out

    def validate(self, msg: message.Message) -> None:
        """Raises InvalidArgument naming every bad field."""
        found = self.violations(msg)
        if found:
            raise InvalidArgument.from_violations(FieldViolation(v.field, v.message) for v in found)
