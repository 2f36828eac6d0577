"""A throwaway PostgreSQL server for the tests and the bench: its own data directory, a free port, gone
afterwards.

Uses the server binaries of Debian's postgresql package (initdb and pg_ctl
live in /usr/lib/postgresql/<version>/bin, not on PATH). PostgreSQL refuses
to run as root, so under root the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from devkit.ports import free_block


def _bin_dir() -> Path:
    if explicit := os.environ.get("PG_BIN"):
        return Path(explicit)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if candidates:
        return Path(candidates[-1]).parent
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: install Debian's postgresql package or set PG_BIN"
    )


class PostgresServer:
    """Start with `start()`, create databases with `create_database()`, end with `stop()`."""

    user = "shopmesh"

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_block(1)
        self.root = Path(tempfile.mkdtemp(prefix="shopmesh-pg-"))
        self.data = self.root / "data"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv: str) -> None:
        result = subprocess.run([*self._as_postgres, *argv], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
            "--auth=trust", "--encoding=UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self.resume()

    def resume(self) -> None:
        """Starts the (initialised) server."""
        # Durability settings off: these databases live for one test run.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates an empty database and returns its URL."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def pause(self) -> None:
        """Stops the server, keeping its data, to play a database outage."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        # -l keeps the server's output out of our pipe (run() would wait for it to close).
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-m", "fast", "-w", "restart",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
