"""Hypothesis strategies for protobuf messages of any type, built from their descriptors.

Values sit on both sides of the contracts' rules (lengths, patterns, bounds), so generated requests are a mix
of valid and invalid ones: the validation tests compare verdicts on them, the fuzz tests throw them at the mesh.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor, message, message_factory
from hypothesis import strategies as st

STRINGS = st.one_of(
    st.sampled_from(
        [
            "", " ", "a", "users/abc", "products/abc", "orders/0a", "payments/x-1", "products/", "products/ABC",
            "users/abc\n", "ada@example.com", "ada@", "@x.com", "a b@c.d", "USD", "usd", "US", "4242424242424242",
            "4242 4242 4242 4242", "4242-4242", "123", "12345", "r-1:2.3_4", "has space", "x" * 129, "é" * 8,
        ]
    ),
    st.text(max_size=12),
)  # fmt: skip
INTS = st.sampled_from([-(2**31), -1, 0, 1, 12, 13, 999, 1000, 1001, 2030, 9999, 10000, 2**31 - 1])
INT64S = st.sampled_from([-5, 0, 3, 10**12])
NANOS = st.sampled_from([-1, 0, 500_000_000, 999_999_999, 1_000_000_000])
FIELD_PATHS = st.sampled_from(["title", "description", "price", "stock", "sku", "name", "nope", ""])

_FD = descriptor.FieldDescriptor


def message_class(desc: descriptor.Descriptor) -> type[message.Message]:
    return message_factory.GetMessageClass(desc)


def messages(
    desc: descriptor.Descriptor, strings: st.SearchStrategy[str] = STRINGS, depth: int = 0
) -> st.SearchStrategy[message.Message]:
    """Messages of type `desc` with any subset of their fields set; `strings` feeds every string field."""
    cls: Any = message_class(desc)

    @st.composite
    def build(draw: st.DrawFn) -> message.Message:
        msg = cls()
        for fd in desc.fields:
            if fd.type == _FD.TYPE_MESSAGE:
                _message_field(draw, msg, fd, strings, depth)
            elif fd.is_repeated:
                if fd.type == _FD.TYPE_STRING:
                    getattr(msg, fd.name).extend(draw(st.lists(strings, max_size=3)))
            elif fd.type == _FD.TYPE_STRING:
                setattr(msg, fd.name, draw(strings))
            elif fd.type == _FD.TYPE_INT32:
                setattr(msg, fd.name, draw(INTS))
            elif fd.type == _FD.TYPE_INT64:
                setattr(msg, fd.name, draw(INT64S))
            elif fd.type == _FD.TYPE_BOOL:
                setattr(msg, fd.name, draw(st.booleans()))
            elif fd.type == _FD.TYPE_ENUM:
                # Numbers the enum does not define too: open enums keep them.
                numbers = [v.number for v in fd.enum_type.values] + [99]
                setattr(msg, fd.name, draw(st.sampled_from(numbers)))
        return msg

    return build()


def _message_field(
    draw: st.DrawFn, msg: Any, fd: descriptor.FieldDescriptor, strings: st.SearchStrategy[str], depth: int
) -> None:
    name = fd.message_type.full_name
    if fd.is_repeated:
        if depth <= 3 and not name.startswith("google."):
            for item in draw(st.lists(messages(fd.message_type, strings, depth + 1), max_size=3)):
                getattr(msg, fd.name).add().CopyFrom(item)
        return
    if not draw(st.booleans()):
        return
    field = getattr(msg, fd.name)
    if name == "google.type.Money":
        field.currency_code, field.units, field.nanos = draw(strings), draw(INT64S), draw(NANOS)
    elif name == "google.protobuf.FieldMask":
        field.paths.extend(draw(st.lists(FIELD_PATHS, max_size=3)))
    elif name == "google.protobuf.Timestamp":
        field.seconds = draw(st.sampled_from([0, 1_700_000_000, 253_402_300_799]))
    elif depth <= 3 and not name.startswith("google."):
        field.CopyFrom(draw(messages(fd.message_type, strings, depth + 1)))
