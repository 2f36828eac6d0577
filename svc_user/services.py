"""Account use cases: each runs in one database transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from meshkit.create_once import CreateOnce
from meshkit.db import Database, after_commit, utcnow
from meshkit.errors import NotFound
from meshkit.identity import Identity
from meshkit.names import make_name, new_id
from svc_user import domain
from svc_user.events import UserEvents
from svc_user.passwords import Passwords
from svc_user.repository import UserRepository
from svc_user.tokens import IssuedToken, PublicJwk, TokenIssuer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    user: domain.User
    token: IssuedToken


class Accounts:
    """The users service's use cases."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        tokens: TokenIssuer,
        clock: Callable[[], dt.datetime] = utcnow,
        events: UserEvents | None = None,
    ) -> None:
        self._db = db
        self._events = events or UserEvents()
        self._passwords = passwords
        self._tokens = tokens
        self._clock = clock
        self._creates = CreateOnce(
            db, lambda conn, key: UserRepository(conn).by_request_id(key), domain.REQUEST_ID_USED_FOR
        )

    def create_user(self, email: str, display_name: str, password: str, request_id: str = "") -> domain.User:
        """Creates the account once per request_id; a replay (the same email, name and password) returns it."""
        email = domain.normalize_email(email)

        def is_replay(existing: domain.User) -> bool:
            # CreateUser is anonymous, so a request_id is nobody's: whoever sends one must also prove the call is
            # theirs by sending what it did, password included, before the account (its name, display name and
            # creation time) is returned. Anything else is REQUEST_ID_REUSED, which says nothing of the account.
            same = existing.email == email and existing.display_name == display_name
            return self._passwords.verify(existing.password_hash, password) and same

        def build() -> domain.User:
            return domain.User(
                id=new_id(),
                email=email,
                display_name=display_name,
                password_hash=self._passwords.hash(password),  # slow on purpose: outside the transaction
                create_time=self._clock(),
                create_request_id=request_id,
            )

        return self._creates.create(
            request_id,
            is_replay=is_replay,
            build=build,
            add=lambda conn, user: UserRepository(conn).add(user),
            announce=self._announce_created,
            taken=lambda: domain.EmailTaken(email),
        )

    def _announce_created(self, conn: Connection, user: domain.User) -> None:
        self._events.created(conn, user)
        after_commit(conn, lambda: log.info("created users/%s", user.id))

    def get_user(self, user_id: str, caller: Identity) -> domain.User:
        """The account, for its owner, admins and services; NOT_FOUND for anyone else (no leak)."""
        with self._db.snapshot() as conn:
            user = UserRepository(conn).get(user_id)
        if user is None or not caller.may_see(user_id):
            raise domain.UserNotFound(user_id)
        return user

    def login(self, email: str, password: str) -> Session:
        with self._db.snapshot() as conn:
            user = UserRepository(conn).by_email(domain.normalize_email(email))
        if not self._passwords.verify(user.password_hash if user else None, password) or user is None:
            raise domain.BadCredentials()
        if self._passwords.needs_rehash(user.password_hash):
            with self._db.transaction() as conn:
                UserRepository(conn).set_password_hash(user.id, self._passwords.hash(password))
        token = self._tokens.issue(
            make_name("users", user.id), self._clock(), {"email": user.email, "roles": list(user.roles)}
        )
        return Session(user, token)

    def jwks(self) -> list[PublicJwk]:
        return self._tokens.jwks(self._clock())


class Roles:
    """Granting roles: an operator's task (python -m svc_user grant-admin), not an RPC."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def grant(self, email: str, role: str) -> domain.User:
        """Gives an account a role; it shows in the tokens issued from then on."""
        with self._db.transaction() as conn:
            repo = UserRepository(conn)
            user = repo.by_email(domain.normalize_email(email))
            if user is None:
                raise NotFound(f"no account has the email {email!r}", reason="USER_NOT_FOUND")
            repo.set_roles(user.id, tuple({*user.roles, role}))
            granted = repo.get(user.id)
        assert granted is not None
        log.info("granted %s to users/%s", role, user.id)
        return granted
