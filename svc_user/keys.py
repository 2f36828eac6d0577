"""`python -m svc_user keys list|rotate|retire`: an operator's view and control of the token signing keys.

It works on the users service's key directory (SVC_USER_JWT_KEY_DIR, else $SHOPMESH_DATA_DIR/keys), read like
the service reads it, or on any directory given with --dir (to make a key for a Kubernetes Secret elsewhere).
Running replicas notice a change within a second; nothing restarts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from meshkit.db import utcnow
from meshkit.settings import SettingsError
from svc_user import keyring
from svc_user import settings as user_settings


def _fmt(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return "the beginning" if moment == keyring.BEGINNING else f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _list(ring: keyring.KeyRing, now: dt.datetime) -> int:
    print(f"{'STATE':<9} {'KID':<44} {'SIGNS FROM':<20} {'PUBLISHED UNTIL':<20} FILE")
    for s in ring.states(now):
        until = _fmt(s.until) if s.state in (keyring.PREVIOUS, keyring.RETIRED) else "-"
        print(f"{s.state:<9} {s.key.kid:<44} {_fmt(s.key.not_before):<20} {until:<20} {s.key.path.name}")
    return 0


def _rotate(directory: Path, ring: keyring.KeyRing | None, now: dt.datetime, lead: int, prune: bool) -> int:
    """`ring`: None when the directory has no key yet (a key made for a Secret elsewhere, say)."""
    states = ring.states(now) if ring else []
    pending = [s for s in states if s.state == keyring.NEXT]
    if pending:
        print(
            f"keys rotate: key {pending[0].key.kid} is already published and signs from "
            f"{_fmt(pending[0].key.not_before)}; rotate again after that (or retire it)",
            file=sys.stderr,
        )
        return 1
    starts = (now + dt.timedelta(seconds=lead)).replace(microsecond=0)
    try:
        made = keyring.write_key(directory, keyring.name_for(starts))
    except FileExistsError:
        print(f"keys rotate: {directory / keyring.name_for(starts)} exists; retry", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"keys rotate: cannot write to {directory} ({exc.strerror}). A Kubernetes Secret is read-only "
            "in the pods: make the key elsewhere (--dir) and add it to the Secret (docs/security.md)",
            file=sys.stderr,
        )
        return 1
    print(f"published key {made.kid} ({made.path}); it signs from {_fmt(starts)} (in {lead} s)")
    current = [s for s in states if s.state == keyring.CURRENT]
    if current and ring:
        until = starts + ring.retire_after
        print(f"key {current[0].key.kid} signs until then and verifies until {_fmt(until)}")
    if prune:
        for s in states:
            if s.state == keyring.RETIRED:
                s.key.path.unlink(missing_ok=True)
                print(f"removed retired key {s.key.kid} ({s.key.path.name})")
    return 0


def _retire(ring: keyring.KeyRing, now: dt.datetime, kid: str) -> int:
    found = [s for s in ring.states(now) if s.key.kid == kid or s.key.path.name == kid]
    if not found:
        print(f"keys retire: no key {kid!r} in {ring.directory}", file=sys.stderr)
        return 1
    (state,) = found
    if state.state == keyring.CURRENT:
        print(
            f"keys retire: {kid} signs the tokens now; rotate first (`keys rotate --in 0` if it must go at once: "
            "calls with tokens of the new key get 401 until the gateway refetched the keys)",
            file=sys.stderr,
        )
        return 1
    try:
        state.key.path.unlink()
    except OSError as exc:
        print(f"keys retire: cannot remove {state.key.path} ({exc.strerror})", file=sys.stderr)
        return 1
    print(f"retired key {state.key.kid} ({state.key.path.name}): tokens it signed no longer verify")
    return 0


def main(argv: list[str], clock: Callable[[], dt.datetime] = utcnow) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m svc_user keys",
        description="The token signing keys: which signs, which are published (JWKS), rotation. A key is "
        "published ahead of use, signs from the time in its file name, and stays published until the tokens "
        "it signed have expired.",
    )
    parser.add_argument("--dir", type=Path, help="the key directory (default: the service's)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every key: state, since when it signs, until when it verifies")
    rotate = commands.add_parser("rotate", help="publish a new key now that signs after a lead time")
    rotate.add_argument(
        "--in",
        dest="lead",
        type=int,
        help="seconds until it signs (default SVC_USER_JWT_PUBLISH_AHEAD_SECONDS, 600): at least the "
        "gateway's JWKS refresh period, or tokens it signs meanwhile get 401",
    )
    rotate.add_argument("--no-prune", action="store_true", help="keep the files of retired keys")
    retire = commands.add_parser("retire", help="stop publishing a key now (its tokens stop verifying)")
    retire.add_argument("kid", help="the key's kid or file name")
    args = parser.parse_args(argv)
    try:
        settings = user_settings.load()
    except SettingsError as exc:
        print(f"keys: {exc}", file=sys.stderr)
        return 2
    directory = args.dir or settings.jwt_key_dir
    now = clock()
    ring: keyring.KeyRing | None = None
    try:
        if args.command != "rotate" or keyring.has_keys(directory):
            ring = keyring.KeyRing.open(directory, create=False, token_ttl_seconds=settings.token_ttl_seconds)
    except (OSError, ValueError) as exc:
        print(f"keys: {exc}", file=sys.stderr)
        return 1
    if args.command == "rotate":
        lead = settings.jwt_publish_ahead_seconds if args.lead is None else args.lead
        if lead < 0:
            print("keys rotate: --in must not be negative", file=sys.stderr)
            return 2
        return _rotate(directory, ring, now, lead, prune=not args.no_prune)
    assert ring is not None
    if args.command == "list":
        return _list(ring, now)
    return _retire(ring, now, args.kid)
