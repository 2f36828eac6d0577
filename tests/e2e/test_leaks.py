"""Nothing leaks across users, through the gateway: no error names, counts or confirms another user's data.

Each case is one a caller could use to learn something of another account: an idempotency key, a replayed
sign-up, the answer for another user's resource next to the answer for one that never existed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import PASSWORD, rest_order_body, rest_product, rest_user, unique
from tests.support.rest import Rest


def _error(reply: Any) -> tuple[int, int, str, dict[str, str]]:
    """(HTTP status, gRPC code, ErrorInfo reason, ErrorInfo metadata) of an error reply."""
    info = next(d for d in reply.json["details"] if d["@type"].endswith("google.rpc.ErrorInfo"))
    return reply.status, reply.json["code"], info["reason"], info.get("metadata", {})


def _mentions(text: str, *names: str) -> bool:
    return any(n in text or n.split("/")[-1] in text for n in names)


@pytest.fixture(scope="module")
def product(mesh: RunningMesh) -> dict[str, Any]:
    return rest_product(mesh.admin, stock=100)


def test_a_request_id_belongs_to_its_buyer(mesh: RunningMesh, product: dict[str, Any]) -> None:
    ann, bob = rest_user(mesh.rest), rest_user(mesh.rest)
    as_ann, as_bob = mesh.rest.as_user(ann["token"]), mesh.rest.as_user(bob["token"])
    rid = str(uuid.uuid4())
    placed = as_ann.post("/v1/orders", rest_order_body("", product["name"], request_id=rid))
    assert placed.status == 200, placed.text
    before = mesh.counts()
    # Bob's request with the id Ann used is simply Bob's order.
    bobs = as_bob.post("/v1/orders", rest_order_body("", product["name"], quantity=2, request_id=rid))
    assert bobs.status == 200, bobs.text
    assert bobs.json["user"] == bob["name"] and bobs.json["name"] != placed.json["name"]
    assert bobs.json["status"] == "CONFIRMED" and bobs.json["payment"] != placed.json["payment"]
    assert not _mentions(bobs.text, placed.json["name"], ann["name"])
    after = mesh.counts()
    assert (after["orders"], after["payments"]) == (before["orders"] + 1, before["payments"] + 1)
    # Each buyer's replay returns their own order, once.
    again = as_bob.post("/v1/orders", rest_order_body("", product["name"], quantity=2, request_id=rid))
    assert again.status == 200 and again.json["name"] == bobs.json["name"], again.text
    anns = as_ann.post("/v1/orders", rest_order_body("", product["name"], request_id=rid))
    assert anns.status == 200 and anns.json["name"] == placed.json["name"], anns.text
    # Bob's reuse for something else names Bob's order, and nothing of Ann's.
    reused = as_bob.post("/v1/orders", rest_order_body("", product["name"], quantity=3, request_id=rid))
    assert _error(reused) == (
        409,
        6,
        "REQUEST_ID_REUSED",
        {"request_id": rid, "order": bobs.json["name"]},
    ), reused.text
    assert not _mentions(reused.text, placed.json["name"], ann["name"])
    assert mesh.counts() == after
    mine = as_bob.get("/v1/orders").json["orders"]
    assert [o["name"] for o in mine] == [bobs.json["name"]]


def test_a_sign_up_replay_shows_the_account_only_to_whoever_made_it(mesh: RunningMesh) -> None:
    rid, email = str(uuid.uuid4()), f"{unique('ann')}@example.com"
    body = {"request_id": rid, "user": {"email": email, "display_name": "Ann Secret"}, "password": PASSWORD}
    first = mesh.rest.post("/v1/users", body)
    assert first.status == 200, first.text
    assert mesh.rest.post("/v1/users", body).json == first.json  # the true replay
    # Someone with Ann's request_id and e-mail, without her password (or with another name), learns nothing
    # of the account: not its name, display name or creation time.
    for changed in ({"password": "not ann's password"}, {"user": {"email": email, "display_name": "Eve"}}):
        reply = mesh.rest.post("/v1/users", {**body, **changed})
        assert _error(reply) == (409, 6, "REQUEST_ID_REUSED", {"request_id": rid}), reply.text
        assert not _mentions(reply.text, first.json["name"]) and "Ann Secret" not in reply.text
        assert first.json["create_time"] not in reply.text
    other = mesh.rest.post(
        "/v1/users", {**body, "user": {"email": f"{unique('eve')}@example.com", "display_name": "E"}}
    )
    assert _error(other)[:3] == (409, 6, "REQUEST_ID_REUSED") and email not in other.text


def _as_stranger(mesh: RunningMesh) -> Rest:
    return mesh.rest.as_user(rest_user(mesh.rest)["token"])


def _same_answer(theirs: Any, nobodys: Any, their_id: str, no_id: str) -> None:
    """Another user's resource answers exactly as one that never existed (the name asked for aside)."""
    assert (theirs.status, theirs.json["code"]) == (nobodys.status, nobodys.json["code"]) == (404, 5)
    assert theirs.text.replace(their_id, "X") == nobodys.text.replace(no_id, "X"), (theirs.text, nobodys.text)


def test_another_users_order_payment_and_account_are_answered_as_if_they_never_existed(
    mesh: RunningMesh, product: dict[str, Any]
) -> None:
    owner = rest_user(mesh.rest)
    order = mesh.rest.as_user(owner["token"]).post("/v1/orders", rest_order_body("", product["name"])).json
    stranger = _as_stranger(mesh)
    no_id = uuid.uuid4().hex
    for kind, theirs in (("orders", order["name"]), ("payments", order["payment"]), ("users", owner["name"])):
        their_id = theirs.removeprefix(f"{kind}/")
        _same_answer(stranger.get(f"/v1/{theirs}"), stranger.get(f"/v1/{kind}/{no_id}"), their_id, no_id)
    # Cancelling someone's order does not tell its state (CONFIRMED, cancellable) either.
    _same_answer(
        stranger.post(f"/v1/{order['name']}:cancel"),
        stranger.post(f"/v1/orders/{no_id}:cancel"),
        order["name"].removeprefix("orders/"),
        no_id,
    )
    assert mesh.rest.as_user(owner["token"]).get(f"/v1/{order['name']}").json["status"] == "CONFIRMED"


def test_listing_another_users_orders_does_not_tell_whether_they_exist(mesh: RunningMesh) -> None:
    owner = rest_user(mesh.rest)
    stranger = _as_stranger(mesh)
    theirs = stranger.get(f"/v1/orders?user={owner['name']}")
    nobodys = stranger.get(f"/v1/orders?user=users/{uuid.uuid4().hex}")
    assert theirs.status == nobodys.status == 403 and theirs.text == nobodys.text, (theirs.text, nobodys.text)
