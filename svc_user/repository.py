"""Queries of the users database, returning domain objects."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from meshkit import create_once
from meshkit.db import insert_if_absent
from svc_user import domain
from svc_user.models import users


def _user(row: Any) -> domain.User:
    return domain.User(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        password_hash=row.password_hash,
        create_time=row.create_time,
        create_request_id=row.create_request_id or "",
        roles=tuple(row.roles.split()),
    )


_BY_REQUEST_ID = create_once.by_request_id(users)


class UserRepository:
    """Accounts, inside one transaction (`conn`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, user: domain.User) -> bool:
        """Inserts the account; False when the email is taken."""
        return insert_if_absent(
            self.conn,
            users,
            {
                "id": user.id,
                "email": user.email,
                "display_name": user.display_name,
                "password_hash": user.password_hash,
                "create_time": user.create_time,
                "create_request_id": user.create_request_id or None,
                "roles": " ".join(sorted(user.roles)),
            },
        )

    def get(self, user_id: str) -> domain.User | None:
        row = self.conn.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def by_request_id(self, request_id: str) -> domain.User | None:
        row = self.conn.execute(_BY_REQUEST_ID, {"request_id": request_id}).first()
        return _user(row) if row else None

    def by_email(self, email: str) -> domain.User | None:
        row = self.conn.execute(sa.select(users).where(users.c.email == email)).first()
        return _user(row) if row else None

    def set_roles(self, user_id: str, roles: tuple[str, ...]) -> None:
        self.conn.execute(sa.update(users).where(users.c.id == user_id).values(roles=" ".join(sorted(roles))))

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.conn.execute(sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash))
