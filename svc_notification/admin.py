"""`python -m svc_notification dead-letters`: the events this service parked, listed, replayed or dropped."""

from __future__ import annotations

import argparse
import sys

from meshkit.db import open_database
from meshkit.events.consumer import drop_dead_letter, list_dead_letters, replay_dead_letter
from meshkit.settings import SettingsError
from svc_notification import settings as notification_settings
from svc_notification.handlers import Handlers
from svc_notification.models import MIGRATIONS, dead_letters, metadata
from svc_notification.services import Notifier


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m svc_notification dead-letters",
        description="Events the notifications service could not handle after SHOPMESH_EVENTS_MAX_DELIVER "
        "deliveries, or could not read at all, are parked in its database. List them; replay one (its handler "
        "runs again, here, and the dead letter goes if it succeeds; a running replica sends the e-mail); or "
        "drop one. Reads the service's settings (SVC_NOTIFICATION_DATABASE_URL, SHOPMESH_DATA_DIR) like the "
        "service itself, so run it where the service runs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list parked events, oldest first")
    replay = sub.add_parser("replay", help="handle parked events again")
    replay.add_argument("ids", nargs="*", type=int, help="dead letter ids (from list)")
    replay.add_argument("--all", action="store_true", help="every parked event")
    drop = sub.add_parser("drop", help="forget parked events")
    drop.add_argument("ids", nargs="+", type=int)
    args = parser.parse_args(argv)
    if args.command == "replay" and not (args.ids or args.all):
        parser.error("replay: give dead letter ids or --all")
    try:
        settings = notification_settings.load()
    except SettingsError as exc:
        print(f"dead-letters: {exc}", file=sys.stderr)
        return 2
    db = open_database(settings.server.database_url, metadata, MIGRATIONS, "svc_notification dead-letters")
    try:
        if args.command == "list":
            letters = list_dead_letters(db, dead_letters)
            for letter in letters:
                print(
                    f"{letter.id}\t{letter.parked_time:%Y-%m-%dT%H:%M:%SZ}\t{letter.consumer}\t"
                    f"{letter.type or '-'}\tce-id={letter.event_id or '-'}\tseq={letter.stream_seq}\t"
                    f"deliveries={letter.deliveries}\t{letter.error}"
                )
            print(f"{len(letters)} dead letter{'' if len(letters) == 1 else 's'}", file=sys.stderr)
            return 0
        if args.command == "drop":
            missing = [i for i in args.ids if not drop_dead_letter(db, dead_letters, i)]
            for i in missing:
                print(f"dead-letters: no dead letter {i}", file=sys.stderr)
            return 1 if missing else 0
        ids = [letter.id for letter in list_dead_letters(db, dead_letters)] if args.all else args.ids
        consumers = Handlers(Notifier()).consumers()
        failed = 0
        for letter_id in ids:
            try:
                outcome = replay_dead_letter(db, consumers, letter_id)
            except KeyError:
                print(f"{letter_id}\tnot found", file=sys.stderr)
                failed += 1
                continue
            except Exception as exc:  # the handler still fails: the dead letter stays
                print(f"{letter_id}\tstill failing: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(f"{letter_id}\t{outcome}")
        return 1 if failed else 0
    finally:
        db.dispose()
