"""`python -m meshctl up` (what `make up` runs): comes up on SQLite with its own NATS node, prints a walkthrough
that works, writes the e-mails it causes to RUN_DIR/mail, keeps data across restarts, and leaves no process
behind when stopped."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devkit.ports import free_offset, nobody_listens
from meshctl import topology
from tests.support.rest import Rest
from tests.support.walkthrough import run_walkthrough

ROOT = Path(__file__).resolve().parents[2]


def _processes_using(data_dir: Path) -> list[int]:
    """PIDs whose environment points at this run's data directory (services, broker, sink of this mesh)."""
    marker = f"SHOPMESH_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@contextmanager
def meshctl_up(run_dir: Path, offset: int, *flags: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Runs `meshctl up` until it prints its walkthrough; yields the process and that text."""
    # As on a fresh machine: SQLite, the local broker, e-mails as files.
    elsewhere = ("SHOPMESH_NATS_URL", "SHOPMESH_MAIL_DIR")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_DATABASE_URL", "_SMTP_URL")) and k not in elsewhere
    }
    env["SHOPMESH_DATA_DIR"] = str(run_dir / "data")
    process = subprocess.Popen(
        [sys.executable, "-m", "meshctl", "up", "--run-dir", str(run_dir), "--port-offset", str(offset), *flags],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                pytest.fail("meshctl up exited early:\n" + "".join(lines))
            lines.append(line)
            if line.startswith("The same over gRPC"):
                for _ in range(5):
                    lines.append(process.stdout.readline())
                break
        else:
            pytest.fail("meshctl up did not come up in 90 s:\n" + "".join(lines))
        yield process, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


def _stop(process: subprocess.Popen[str], signum: int) -> str:
    process.send_signal(signum)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    return rest


def _emails(mail_dir: Path, timeout: float = 30.0) -> list[Path]:
    """The .eml files the notifications service wrote, once there is one (it works from events, later)."""
    deadline = time.monotonic() + timeout
    while not (found := sorted(mail_dir.glob("**/*.eml"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_up_serves_prints_working_commands_keeps_data_and_stops_clean(tmp_path: Path) -> None:
    mesh = topology.load()
    offset = free_offset(mesh.ports())
    gateway = f"127.0.0.1:{8080 + offset}"
    broker = (mesh.broker.port + offset, mesh.broker.monitor_port + offset)
    with meshctl_up(tmp_path, offset) as (process, output):
        assert f"Gateway (gRPC and REST): {gateway}" in output
        assert f"Events: nats://127.0.0.1:{broker[0]} (NATS JetStream; " in output
        assert f"E-mails: .eml files in {tmp_path / 'mail'}/ (set SVC_NOTIFICATION_SMTP_URL" in output
        run_walkthrough(output)
        assert _emails(tmp_path / "mail"), "the purchase caused no e-mail in RUN_DIR/mail"
        product = Rest(f"http://{gateway}").get("/v1/products?page_size=1").json["products"][0]
        assert _processes_using(tmp_path / "data")
        tail = _stop(process, signal.SIGINT)
        assert "meshctl: stopped" in tail
    assert _processes_using(tmp_path / "data") == []
    assert all(nobody_listens(port) for port in (8080 + offset, *broker))
    assert (tmp_path / "nats" / "jetstream").is_dir()  # the streams are on disk for the next run

    # Again, over TLS this time (`make up UP_ARGS=--tls`): same data, the walkthrough pins the certificate.
    with meshctl_up(tmp_path, offset, "--tls") as (process, output):
        assert f"Gateway (gRPC and REST): https://{gateway} (TLS, self-signed)" in output
        certificate = tmp_path / "tls" / "gateway.crt"
        assert f"--cacert {certificate}" in output
        pinned = ssl.create_default_context(cafile=str(certificate))
        again = Rest(f"https://{gateway}", context=pinned).get(f"/v1/{product['name']}")
        assert again.status == 200 and again.json["sku"] == product["sku"]
        run_walkthrough(output)
        with pytest.raises(urllib.error.URLError) as untrusted:  # an unpinned client does not trust it
            Rest(f"https://{gateway}", context=ssl.create_default_context()).get("/v1/products")
        assert isinstance(untrusted.value.reason, ssl.SSLCertVerificationError)
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # no plaintext on the TLS listener
            Rest(f"http://{gateway}").get("/v1/products")
        _stop(process, signal.SIGTERM)
    assert _processes_using(tmp_path / "data") == []


def test_up_refuses_a_taken_port_by_name_and_starts_nothing(tmp_path: Path) -> None:
    offset = free_offset(topology.load().ports())
    taken = topology.load().service("orders").metrics_ports()[0] + offset
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "meshctl", "up", "--run-dir", str(tmp_path), "--port-offset", str(offset)],
            cwd=ROOT, env={**os.environ, "SHOPMESH_DATA_DIR": str(tmp_path / "data")},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port in use: {taken} (orders-0's metrics)" in result.stderr
    assert "--port-offset" in result.stderr
    assert _processes_using(tmp_path / "data") == []
    # An address that is not this host's is a different mistake, and said so.
    elsewhere = subprocess.run(
        [sys.executable, "-m", "meshctl", "up", "--run-dir", str(tmp_path), "--bind", "192.0.2.1"],
        cwd=ROOT, env={**os.environ, "SHOPMESH_DATA_DIR": str(tmp_path / "data")},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert elsewhere.returncode == 1 and "cannot listen on 192.0.2.1:8080" in elsewhere.stderr, (
        elsewhere.stderr
    )
    assert _processes_using(tmp_path / "data") == []
