"""The bundled PostgreSQL's init script, run for real on the suite's throwaway server: one database per service,
owned by the service's role, that no other service's role may connect to; run again (every start of the pod),
it creates what is missing and touches nothing else."""

from __future__ import annotations

import os
import subprocess

import pytest
import sqlalchemy as sa

from devkit.postgres import PostgresServer
from meshctl.topology import load
from tests.helm.conftest import find, render

pytestmark = pytest.mark.integration

SERVICES = [s.name for s in load().services]


def _engine(postgres: PostgresServer, role: str, database: str) -> sa.Engine:
    return sa.create_engine(
        f"postgresql+psycopg://{role}@127.0.0.1:{postgres.port}/{database}", poolclass=sa.pool.NullPool
    )


def _run_script(postgres: PostgresServer) -> None:
    script = find(render(), "ConfigMap", "demo-shopmesh-postgresql-init")["data"]["10-shopmesh-databases.sh"]
    env = {
        **os.environ,
        "PATH": f"{postgres.bin}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "POSTGRES_USER": postgres.user,  # the image's superuser
        **{f"SHOPMESH_{s.upper()}_PASSWORD": f"pw{s}" for s in SERVICES},
    }
    proc = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _owners(admin: sa.Engine) -> dict[str, str]:
    with admin.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE 'shopmesh\\_%'"
            )
        ).all()
    return {name: owner for name, owner in rows}


def test_init_script_gives_each_service_its_own_database(postgres: PostgresServer) -> None:
    _run_script(postgres)
    admin = _engine(postgres, postgres.user, "postgres")
    assert _owners(admin) == {f"shopmesh_{s}": f"shopmesh_{s}" for s in SERVICES}

    for service in SERVICES:
        own = _engine(postgres, f"shopmesh_{service}", f"shopmesh_{service}")
        with own.begin() as conn:  # the owner can create its schema (what the service's migrations do)
            conn.execute(sa.text("CREATE TABLE probe (id integer PRIMARY KEY)"))
        other = next(s for s in SERVICES if s != service)
        intruder = _engine(postgres, f"shopmesh_{other}", f"shopmesh_{service}")
        with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
            intruder.connect().close()


def test_init_script_reruns_create_only_what_is_missing(postgres: PostgresServer) -> None:
    """What an upgrade that adds a service meets: the other databases exist, with data; one does not."""
    _run_script(postgres)
    admin = _engine(postgres, postgres.user, "postgres")
    kept, added = SERVICES[0], SERVICES[-1]
    with _engine(postgres, f"shopmesh_{kept}", f"shopmesh_{kept}").begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS kept (id integer PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO kept VALUES (1)"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'DROP DATABASE "shopmesh_{added}"'))
        conn.execute(sa.text(f'DROP ROLE "shopmesh_{added}"'))

    _run_script(postgres)
    _run_script(postgres)  # and once more with nothing to do

    assert _owners(admin) == {f"shopmesh_{s}": f"shopmesh_{s}" for s in SERVICES}
    with _engine(postgres, f"shopmesh_{kept}", f"shopmesh_{kept}").connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM kept")).scalars().all() == [1]
    with _engine(postgres, f"shopmesh_{added}", f"shopmesh_{added}").connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == f"shopmesh_{added}"
    other = next(s for s in SERVICES if s != added)
    with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
        _engine(postgres, f"shopmesh_{other}", f"shopmesh_{added}").connect().close()
