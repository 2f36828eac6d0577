"""The signing keys of access tokens: a directory of keys that rotate without a single 401.

Each `*.pem` file of the directory is an EC P-256 private key. Its name says from when it signs:
`20261203T190000Z.pem` signs from 2026-12-03 19:00:00 UTC on; any other name (`jwt-es256.pem`, the first key)
has signed since the beginning. At any moment:

* the **current** key, the newest whose time has come, signs every token;
* a **next** key (its time is still ahead) is already published, so that every verifier (Envoy caches the
  JWKS) knows it before the first token it signs arrives: rotate with a lead at least as long as the slowest
  verifier's refresh period;
* a **previous** key is published until every token it signed has expired: its successor's start + the token
  lifetime + a leeway for clocks (Envoy's own skew allowance and the replicas' disagreement);
* after that it is **retired**: no longer published, so a token it signs no longer verifies.

Replicas agree without talking to each other: each reads the directory (again within a second of a change) and
the times in the names decide. The directory is a plain directory for `make up` and a Kubernetes Secret of
several keys on a cluster (mounted whole; kubelet updates it in place).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from svc_user.tokens import PublicJwk, SigningKey

log = logging.getLogger(__name__)

FIRST_KEY = "jwt-es256.pem"
"""The name of the key a fresh directory gets (the name the single key always had)."""
BEGINNING = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
NAME_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMED_NAME = re.compile(r"^(\d{8}T\d{6}Z)(?:[-_.].*)?\.pem$")

NEXT, CURRENT, PREVIOUS, RETIRED = "next", "current", "previous", "retired"

DEFAULT_LEEWAY_SECONDS = 60
"""Beyond its tokens' lifetime, how long a previous key stays published: Envoy accepts a token 30 s past its
expiry (clock_skew_seconds), and a replica whose clock is behind signs with the old key a little longer."""


def not_before_of(name: str) -> dt.datetime:
    """When the key in a file of this name starts signing."""
    match = _TIMED_NAME.match(name)
    if match is None:
        return BEGINNING
    return dt.datetime.strptime(match.group(1), NAME_FORMAT).replace(tzinfo=dt.UTC)


def name_for(not_before: dt.datetime) -> str:
    return f"{not_before.astimezone(dt.UTC).strftime(NAME_FORMAT)}.pem"


@dataclass(frozen=True)
class RingKey:
    key: SigningKey
    path: Path
    not_before: dt.datetime

    @property
    def kid(self) -> str:
        return self.key.kid


@dataclass(frozen=True)
class KeyState:
    key: RingKey
    state: str
    until: dt.datetime | None
    """For a previous key: when it retires (is no longer published)."""


def key_states(keys: Sequence[RingKey], now: dt.datetime, retire_after: dt.timedelta) -> list[KeyState]:
    """Each key's state at `now` (see the module docstring), oldest first. `retire_after`: the token lifetime
    plus the leeway. With no key whose time has come (a replica's clock behind the one that made the first
    timed key), the oldest signs."""
    ordered = sorted(keys, key=lambda k: (k.not_before, k.path.name))
    if not ordered:
        return []
    started = [i for i, k in enumerate(ordered) if k.not_before <= now]
    current = started[-1] if started else 0
    states = []
    for i, key in enumerate(ordered):
        if i > current:
            states.append(KeyState(key, NEXT, None))
        elif i == current:
            states.append(KeyState(key, CURRENT, None))
        else:
            until = ordered[i + 1].not_before + retire_after
            states.append(KeyState(key, PREVIOUS if now < until else RETIRED, until))
    return states


def _load(path: Path) -> SigningKey:
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return SigningKey(loaded)


def _listing(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """What identifies the directory's keys: name, mtime, size of each `*.pem` (links followed, as kubelet's
    Secret volumes are links into a directory it swaps atomically)."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(".pem"):
                continue
            info = entry.stat()
            found.append((entry.name, info.st_mtime_ns, info.st_size))
    return tuple(sorted(found))


def has_keys(directory: Path) -> bool:
    return directory.is_dir() and bool(_listing(directory))


def write_key(directory: Path, name: str) -> RingKey:
    """A new private key in `directory/name` (mode 0600), written atomically: a replica reading the directory
    meanwhile sees no half-written file. Refuses to replace an existing file."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".jwt-key-")
    path = directory / name
    try:
        os.write(fd, pem)
        os.close(fd)
        os.link(tmp, path)  # FileExistsError when the name is taken (another replica's first key, say)
    finally:
        os.unlink(tmp)
    return RingKey(SigningKey(key), path, not_before_of(name))


class KeyRing:
    """The key directory as the service uses it: the key signing now, the keys to publish now."""

    def __init__(
        self,
        directory: Path,
        *,
        token_ttl_seconds: int,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        reload_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.retire_after = dt.timedelta(seconds=token_ttl_seconds + leeway_seconds)
        self._reload_seconds = reload_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._listing: tuple[tuple[str, int, int], ...] = ()
        self._keys: tuple[RingKey, ...] = ()
        self._parsed: dict[tuple[str, int, int], RingKey] = {}
        self.reload(strict=True)
        self._checked = monotonic()

    @classmethod
    def open(cls, directory: Path, *, create: bool, token_ttl_seconds: int, **options: float) -> KeyRing:
        """The ring of `directory`; with `create`, a first key is made when it has none (replicas starting
        together agree on one: the first to link it wins)."""
        if create:
            directory.mkdir(parents=True, exist_ok=True)
            if not has_keys(directory):
                try:
                    write_key(directory, FIRST_KEY)
                    log.info("created JWT signing key %s", directory / FIRST_KEY)
                except FileExistsError:
                    pass  # another replica won the race; use its key
        elif not has_keys(directory):
            raise FileNotFoundError(
                f"JWT signing key directory {directory} holds no *.pem key (and key creation is off)"
            )
        return cls(directory, token_ttl_seconds=token_ttl_seconds, **options)  # type: ignore[arg-type]

    def reload(self, *, strict: bool = False) -> None:
        """Reads the directory again if it changed. A key that cannot be read is an error at start (`strict`);
        later it is logged and the keys known before stay in use."""
        listing = _listing(self.directory)
        if listing == self._listing and self._keys:
            return
        try:
            keys = []
            for entry in listing:
                if entry not in self._parsed:
                    path = self.directory / entry[0]
                    self._parsed[entry] = RingKey(_load(path), path, not_before_of(entry[0]))
                keys.append(self._parsed[entry])
            if not keys:
                raise FileNotFoundError(f"JWT signing key directory {self.directory} holds no *.pem key")
        except (OSError, ValueError) as exc:
            if strict:
                raise
            log.error("keeping the signing keys known before: %s", exc)
            return
        self._parsed = {e: self._parsed[e] for e in listing}
        self._keys, self._listing = tuple(keys), listing
        log.info(
            "signing keys: %s", ", ".join(f"{k.kid} from {k.not_before:%Y-%m-%dT%H:%M:%SZ}" for k in keys)
        )

    def _fresh(self) -> tuple[RingKey, ...]:
        now = self._monotonic()
        if now - self._checked >= self._reload_seconds and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                self.reload()
            except OSError as exc:
                log.error("could not read the signing key directory: %s", exc)
            finally:
                self._lock.release()
        return self._keys

    def states(self, now: dt.datetime) -> list[KeyState]:
        return key_states(self._fresh(), now, self.retire_after)

    def signing_key(self, now: dt.datetime) -> SigningKey:
        return next(s.key.key for s in self.states(now) if s.state == CURRENT)

    def published(self, now: dt.datetime) -> list[PublicJwk]:
        """Every key that may verify a live token: next, current and previous ones, newest first."""
        live = [s.key.key.public_jwk for s in self.states(now) if s.state != RETIRED]
        return live[::-1]
