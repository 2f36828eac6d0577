"""`python -m svc_user grant-admin EMAIL`: how the first admin is made (and any other)."""

from __future__ import annotations

import argparse
import sys

from meshkit.db import open_database
from meshkit.errors import ServiceError
from meshkit.identity import ADMIN
from meshkit.settings import SettingsError
from svc_user import settings as user_settings
from svc_user.models import MIGRATIONS, metadata
from svc_user.services import Roles


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m svc_user grant-admin",
        description="Give an existing account the admin role (product writes need it). It takes effect at the "
        "account's next login. Reads the users service's settings (SVC_USER_DATABASE_URL, SHOPMESH_DATA_DIR) "
        "like the service itself, so run it where the service runs.",
    )
    parser.add_argument("email", help="the account's email")
    args = parser.parse_args(argv)
    try:
        settings = user_settings.load()
    except SettingsError as exc:
        print(f"grant-admin: {exc}", file=sys.stderr)
        return 2
    db = open_database(settings.server.database_url, metadata, MIGRATIONS, "svc_user grant-admin")
    try:
        user = Roles(db).grant(args.email, ADMIN)
    except ServiceError as exc:
        print(f"grant-admin: {exc.message}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"users/{user.id} ({user.email}) now has the roles: {' '.join(user.roles)}")
    return 0
