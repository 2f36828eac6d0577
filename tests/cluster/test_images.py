"""The images of the chart's bundled PostgreSQL and NATS, built by tools/build-image.sh (postgresql, nats: the
official docker.io images cannot be pulled here), run the way the chart's StatefulSets run them: the pod's uid,
a read-only root filesystem, every capability dropped, no new privileges, the chart's volumes, environment and
arguments, and the chart's own init script and NATS config, rendered by `helm template`.

Network: PostgreSQL runs with no network at all (podman exec reaches it over the container's loopback, as the
chart's probes do); NATS on the host's network bound to 127.0.0.1 on free ports, the only change to the chart's
config (its 4222/8222 on every interface are not allowed here).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devkit.ports import free_block
from tests.cluster.conftest import ROOT
from tests.cluster.test_image import BUILD, CONTAINERS_CONF, podman_command
from tests.helm.conftest import RELEASE, find, render

# A cold build (apt-get install postgresql-15 in the build) takes well under a minute; the first test waits for it.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

FULLNAME = f"{RELEASE}-shopmesh"
# What the chart's pods have in common (shopmesh.podSecurityContext, shopmesh.containerSecurityContext).
LOCKED_DOWN = [
    "--read-only",
    "--read-only-tmpfs=false",
    "--cap-drop=all",
    "--security-opt=no-new-privileges",
    "--pull=never",
]
_names = itertools.count()


def podman(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*podman_command(), *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"podman {' '.join(args[:2])} failed:\n{proc.stdout}{proc.stderr}"
    return proc


def build(name: str) -> str:
    proc = subprocess.run([str(BUILD), name], capture_output=True, text=True, cwd=ROOT, timeout=550)
    assert proc.returncode == 0, f"tools/build-image.sh {name} failed:\n{proc.stderr[-4000:]}"
    return proc.stdout.strip().splitlines()[-1]


def container_name(what: str) -> str:
    return f"shopmesh-test-{what}-{os.getpid()}-{next(_names)}"


def chart_pod(statefulset: str) -> dict[str, Any]:
    pod: dict[str, Any] = find(render(), "StatefulSet", f"{FULLNAME}-{statefulset}")["spec"]["template"][
        "spec"
    ]
    return pod


def chart_container(statefulset: str, container: str) -> dict[str, Any]:
    found = [c for c in chart_pod(statefulset)["containers"] if c["name"] == container]
    assert len(found) == 1, f"no container {container} in the StatefulSet {statefulset}"
    return found[0]


def chart_uid(statefulset: str) -> int:
    """The pod's runAsUser, which is also its runAsGroup and fsGroup (shopmesh.podSecurityContext)."""
    context = chart_pod(statefulset)["securityContext"]
    assert context["runAsUser"] == context["runAsGroup"] == context["fsGroup"]
    return int(context["runAsUser"])


def secret_keys(container: dict[str, Any]) -> list[str]:
    return [
        i["valueFrom"]["secretKeyRef"]["key"]
        for i in container.get("env", [])
        if "secretKeyRef" in i.get("valueFrom", {})
    ]


def chart_env(container: dict[str, Any], secrets_: dict[str, str], pod: str) -> dict[str, str]:
    """The container's environment as the kubelet makes it: Secret keys from `secrets_`, the pod's name for
    metadata.name, $(VAR) references expanded."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            value = item["value"]
            for name, known in env.items():
                value = value.replace(f"$({name})", known)
        elif "secretKeyRef" in item.get("valueFrom", {}):
            value = secrets_[item["valueFrom"]["secretKeyRef"]["key"]]
        else:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", item
            value = pod
        env[item["name"]] = value
    return env


def env_args(env: dict[str, str]) -> list[str]:
    return [f"--env={name}={value}" for name, value in env.items()]


def owned_dir(path: Path, uid: int) -> Path:
    """A volume of the pod: a fresh directory owned by its uid (what fsGroup gives a PersistentVolume)."""
    path.mkdir(parents=True)
    os.chown(path, uid, uid)
    return path


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f} s"
        time.sleep(0.2)


def archive_tags(path: Path) -> list[str]:
    """The image references a docker-archive (podman save) holds, from its manifest.json."""
    with tarfile.open(path) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return [tag for entry in json.load(member) for tag in entry["RepoTags"]]


def check_build_output(name: str, ref: str) -> None:
    """The reference and archive tools/build-image.sh promises: localhost/shopmesh-NAME:<key>, NAME-<key>.tar."""
    assert ref.startswith(f"localhost/shopmesh-{name}:")
    archive = CONTAINERS_CONF.parent / f"{name}-{ref.rsplit(':', 1)[1]}.tar"
    assert archive_tags(archive) == [ref]
    fresh = subprocess.run(
        [str(BUILD), name, "--fresh"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert fresh.returncode == 0, fresh.stderr


def running(name: str) -> bool:
    return podman("inspect", "--format={{.State.Running}}", name).stdout.strip() == "true"


def exit_code(name: str) -> int:
    return int(podman("inspect", "--format={{.State.ExitCode}}", name).stdout)


# --- PostgreSQL ---------------------------------------------------------------------------------------------------
# The chart's mounts: the PersistentVolume, the init ConfigMap, emptyDirs on the socket directory and /tmp.
PG_DATA, PG_INITDB, PG_INIT = "/var/lib/postgresql/data", "/docker-entrypoint-initdb.d", "/shopmesh/init"
PG_TMPFS = ["--tmpfs=/var/run/postgresql", "--tmpfs=/tmp"]


@pytest.fixture(scope="module")
def pg_image() -> str:
    return build("postgresql")


@pytest.fixture(scope="module")
def pg_chart() -> dict[str, Any]:
    init = find(render(), "ConfigMap", f"{FULLNAME}-postgresql-init")["data"]
    mounts = {m["name"]: m["mountPath"] for m in chart_container("postgresql", "postgresql")["volumeMounts"]}
    assert mounts == {"data": PG_DATA, "init": PG_INITDB, "run": "/var/run/postgresql", "tmp": "/tmp"}
    return {
        "init": init,
        "postgresql": chart_container("postgresql", "postgresql"),
        "databases": chart_container("postgresql", "databases"),
        "uid": chart_uid("postgresql"),  # 999, the official image's postgres
    }


@dataclass
class Pg:
    image: str
    chart: dict[str, Any]
    data: Path
    init: Path
    env: dict[str, str]
    passwords: dict[str, str]
    name: str = ""

    def start(
        self, env: dict[str, str] | None = None, detach: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """The chart's postgresql container on this volume; with detach, running until stopped."""
        self.name = container_name("postgresql")
        return podman(
            "run",
            *(["--detach"] if detach else ["--rm"]),
            f"--name={self.name}",
            "--network=none",
            f"--user={self.chart['uid']}:{self.chart['uid']}",
            *LOCKED_DOWN,
            *PG_TMPFS,
            f"--volume={self.data}:{PG_DATA}",
            f"--volume={self.init}:{PG_INITDB}:ro",
            *env_args(self.env if env is None else env),
            self.image,
            *self.chart["postgresql"]["args"],
            timeout=120,
            check=detach,
        )

    def ready(self) -> bool:
        """The chart's startup, readiness and liveness probe."""
        probe = self.chart["postgresql"]["startupProbe"]["exec"]["command"]
        return podman("exec", self.name, *probe, check=False).returncode == 0

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert running(self.name), f"the server exited:\n{self.logs()}"
            return self.ready()

        wait_for("pg_isready --host 127.0.0.1", ready)

    def logs(self) -> str:
        proc = podman("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def psql(
        self, sql: str, *, user: str = "postgres", password: str | None = None, db: str = "postgres"
    ) -> subprocess.CompletedProcess[str]:
        """psql in the container over TCP to 127.0.0.1, never prompting for a password."""
        env = [] if password is None else [f"--env=PGPASSWORD={password}"]
        command = ["psql", "--no-psqlrc", "--no-password", "-At", "-h", "127.0.0.1", "-U", user, "-d", db]
        return podman("exec", *env, self.name, *command, "-c", sql, check=False)

    def query(self, sql: str, **kwargs: Any) -> list[str]:
        proc = self.psql(sql, **kwargs)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()

    def remove(self) -> None:
        if self.name:
            podman("rm", "--force", "--time=0", self.name, check=False)


@pytest.fixture(scope="module")
def pg(pg_image: str, pg_chart: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    """The chart's PostgreSQL, started once on a fresh volume with the chart's init script: initialised."""
    root = tmp_path_factory.mktemp("postgresql")
    init = root / "init"
    init.mkdir()
    for name, script in pg_chart["init"].items():
        (init / name).write_text(script)
        (init / name).chmod(0o555)  # the ConfigMap volume's defaultMode
    passwords = {key: secrets.token_hex(12) for key in secret_keys(pg_chart["postgresql"])}
    env = chart_env(pg_chart["postgresql"], passwords, f"{FULLNAME}-postgresql-0")
    server = Pg(pg_image, pg_chart, owned_dir(root / "data", pg_chart["uid"]), init, env, passwords)
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.remove()


def services(pg: Pg) -> list[str]:
    return sorted(k.removesuffix("-password") for k in pg.passwords if k != "postgres-password")


def test_postgresql_build_output(pg_image: str, pg_chart: dict[str, Any]) -> None:
    check_build_output("postgresql", pg_image)
    config = json.loads(podman("image", "inspect", pg_image).stdout)[0]["Config"]
    assert config["User"] == f"{pg_chart['uid']}:{pg_chart['uid']}"
    # PostgreSQL's fast shutdown: what podman stop and containerd send instead of SIGTERM (a "smart" shutdown
    # that waits for every pooled client to go away).
    assert config["StopSignal"] == "SIGINT"


def test_postgresql_initialises_with_the_chart_init_script(pg: Pg) -> None:
    logs = pg.logs()
    assert f"initialising {PG_DATA}/pgdata (superuser postgres)" in logs
    assert f"running {PG_INITDB}/10-shopmesh-databases.sh" in logs
    assert "initialisation done; starting PostgreSQL" in logs
    # The temporary server took no TCP connection: only the real one listens on an address.
    assert logs.count('listening on IPv4 address "0.0.0.0", port 5432') == 1

    rows = pg.query(
        "SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding) FROM pg_database"
        " WHERE datname LIKE 'shopmesh\\_%' ORDER BY 1"
    )
    assert rows == [f"shopmesh_{s}|shopmesh_{s}|UTF8" for s in services(pg)]
    assert pg.query("SHOW server_encoding") == ["UTF8"]
    # The chart's args reach postgres; postgres is the container's PID 1 (signals go to it).
    assert pg.query("SHOW max_connections") == ["600"]
    assert podman("exec", pg.name, "cat", "/proc/1/comm").stdout.strip() == "postgres"
    assert podman("exec", pg.name, "id", "-un").stdout.strip() == "postgres"


def test_postgresql_roles_authenticate_with_their_password(pg: Pg) -> None:
    own = {"user": "shopmesh_orders", "db": "shopmesh_orders"}
    assert pg.query("SELECT current_user", password=pg.passwords["orders-password"], **own) == [
        "shopmesh_orders"
    ]
    wrong = pg.psql("SELECT 1", password="not-" + pg.passwords["orders-password"], **own)
    assert wrong.returncode != 0
    assert 'password authentication failed for user "shopmesh_orders"' in wrong.stderr
    assert "no password supplied" in pg.psql("SELECT 1", **own).stderr
    # The stored verifier is SCRAM, as the password_encryption default makes it.
    assert pg.query("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'shopmesh_orders'") == [
        "SCRAM-SHA-256$"
    ]
    # Another service's role may not connect to this one's database (the init script's REVOKE).
    other = pg.psql(
        "SELECT 1", user="shopmesh_users", password=pg.passwords["users-password"], db="shopmesh_orders"
    )
    assert "permission denied for database" in other.stderr


def test_postgresql_chart_databases_container_runs_on_the_image(pg: Pg) -> None:
    """The chart's second container: its own command, in the pod's network namespace, as the pod's uid."""
    container = pg.chart["databases"]
    env = chart_env(container, pg.passwords, f"{FULLNAME}-postgresql-0")
    name = container_name("postgresql-databases")
    podman(
        "run",
        "--detach",
        f"--name={name}",
        f"--network=container:{pg.name}",
        f"--user={pg.chart['uid']}:{pg.chart['uid']}",
        *LOCKED_DOWN,
        "--tmpfs=/tmp",
        f"--volume={pg.init}:{PG_INIT}:ro",
        *env_args(env),
        f"--entrypoint={json.dumps(container['command'])}",
        pg.image,
    )
    try:

        def done() -> bool:
            proc = podman("logs", name, check=False)
            assert running(name), f"the databases container exited:\n{proc.stdout}{proc.stderr}"
            return "every service's database is in place" in proc.stdout

        wait_for("the databases container", done, timeout=30)
        podman("stop", "--time=10", name)  # its trap: SIGTERM exits 0
        assert exit_code(name) == 0
    finally:
        podman("rm", "--force", "--time=0", name, check=False)


def test_postgresql_stops_fast_and_restarts_without_initdb(pg: Pg) -> None:
    orders = {"user": "shopmesh_orders", "db": "shopmesh_orders", "password": pg.passwords["orders-password"]}
    pg.query("CREATE TABLE kept (id integer PRIMARY KEY); INSERT INTO kept VALUES (42)", **orders)
    # A client in the middle of a query: a smart shutdown would wait for it, the fast one ends it.
    podman(
        "exec", "--detach", pg.name, "psql", "-h", "127.0.0.1", "-U", "postgres", "-c", "SELECT pg_sleep(60)"
    )
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'"
    wait_for("the long query", lambda: pg.query(sleeping) == ["1"], 10)
    started = time.monotonic()
    podman("stop", "--time=30", pg.name)
    assert time.monotonic() - started < 10
    assert exit_code(pg.name) == 0
    logs = pg.logs()
    assert "received fast shutdown request" in logs
    assert logs.rstrip().endswith("database system is shut down")
    pg.remove()

    pg.start()
    pg.wait_ready()
    logs = pg.logs()
    assert f"{PG_DATA}/pgdata holds a database: no initialisation" in logs
    assert "initialising" not in logs and "10-shopmesh-databases.sh" not in logs
    assert pg.query("SELECT id FROM kept", **orders) == ["42"]


def test_postgresql_refuses_an_empty_volume_without_password(
    pg_image: str, pg_chart: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "init").mkdir()
    empty = {key: "" for key in secret_keys(pg_chart["postgresql"])}
    env = chart_env(pg_chart["postgresql"], empty, f"{FULLNAME}-postgresql-0")
    server = Pg(
        pg_image, pg_chart, owned_dir(tmp_path / "data", pg_chart["uid"]), tmp_path / "init", env, empty
    )
    proc = server.start(detach=False)
    assert proc.returncode == 1
    assert f"{PG_DATA}/pgdata holds no database yet and POSTGRES_PASSWORD is empty" in proc.stderr
    assert not (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()


# --- NATS ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nats_image() -> str:
    return build("nats")


def test_nats_build_output(nats_image: str) -> None:
    check_build_output("nats", nats_image)
    inspect = json.loads(podman("image", "inspect", nats_image).stdout)[0]
    assert inspect["Config"]["Entrypoint"] == ["nats-server"]
    assert len(inspect["RootFS"]["Layers"]) == 1  # FROM scratch: the binary and nothing else


def test_nats_runs_the_chart_config(nats_image: str, tmp_path: Path) -> None:
    container = chart_container("nats", "nats")
    config = find(render(), "ConfigMap", f"{FULLNAME}-nats")["data"]["nats.conf"]
    mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "config")
    args = container["args"]
    assert args == ["--config", f"{mount}/nats.conf"]
    # The file the chart's args name includes the chart's config unchanged, then binds to loopback on free ports.
    client, monitor = (free_block(2) + i for i in range(2))
    conf = tmp_path / "config"
    conf.mkdir()
    (conf / "chart.conf").write_text(config)
    (conf / "nats.conf").write_text(
        f"include ./chart.conf\nhost: 127.0.0.1\nport: {client}\nhttp_port: {monitor}\n"
    )
    uid = chart_uid("nats")  # 10001, shopmesh.podSecurityContext's default
    data = owned_dir(tmp_path / "data", uid)
    pod = f"{FULLNAME}-nats-0"
    name = container_name("nats")
    podman(
        "run",
        "--detach",
        f"--name={name}",
        "--network=host",
        f"--user={uid}:{uid}",
        *LOCKED_DOWN,
        f"--volume={conf}:{mount}:ro",
        f"--volume={data}:/data",
        *env_args(chart_env(container, {}, pod)),
        nats_image,
        *args,
    )
    try:
        probe = container["startupProbe"]["httpGet"]["path"]
        assert probe == "/healthz?js-enabled-only=true"

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{monitor}{probe}", timeout=2) as response:
                    return response.status == 200
            except OSError:
                assert running(name), podman("logs", name, check=False).stderr
                return False

        wait_for("NATS /healthz", healthy, timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{monitor}/varz", timeout=2) as response:
            varz = json.load(response)
        assert varz["server_name"] == pod
        assert (varz["host"], varz["port"]) == ("127.0.0.1", client)
        assert varz["jetstream"]["config"]["store_dir"] == "/data/jetstream"
        store = data / "jetstream"
        assert store.is_dir() and store.stat().st_uid == uid

        started = time.monotonic()
        podman("stop", "--time=30", name)
        assert time.monotonic() - started < 10
        assert "Server Exiting" in podman("logs", name).stderr
    finally:
        podman("rm", "--force", "--time=0", name, check=False)
