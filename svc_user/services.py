"""Account use cases: each runs in one database transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from meshkit.db import Database, utcnow
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

    def create_user(self, email: str, display_name: str, password: str, request_id: str = "") -> domain.User:
        """Creates the account once per request_id; a replay (the same email, name and password) returns it."""
        email = domain.normalize_email(email)
        if request_id and (replay := self._replay(request_id, email, display_name, password)):
            return replay
        user = domain.User(
            id=new_id(),
            email=email,
            display_name=display_name,
            password_hash=self._passwords.hash(password),  # slow on purpose: outside the transaction
            create_time=self._clock(),
            create_request_id=request_id,
        )
        with self._db.transaction() as conn:
            created = UserRepository(conn).add(user)
            if created:
                self._events.created(conn, user)
        if not created:
            if request_id and (replay := self._replay(request_id, email, display_name, password)):
                return replay  # a concurrent replay won the race
            raise domain.EmailTaken(email)
        log.info("created users/%s", user.id)
        return user

    def _replay(self, request_id: str, email: str, display_name: str, password: str) -> domain.User | None:
        """The account an earlier call with this request_id made, if this call is a replay of it.

        CreateUser is anonymous, so a request_id is nobody's: whoever sends one must also prove the call is
        theirs by sending what it did, password included, before the account (its name, display name and
        creation time) is returned. Anything else is REQUEST_ID_REUSED, which says nothing of the account.
        """
        with self._db.snapshot() as conn:
            existing = UserRepository(conn).by_request_id(request_id)
        if existing is None:
            return None
        same = existing.email == email and existing.display_name == display_name
        if not (self._passwords.verify(existing.password_hash, password) and same):
            raise domain.RequestIdReused(request_id)
        return existing

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
