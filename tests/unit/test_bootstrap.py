"""What `make up` installs: the run set alone (tools/bootstrap.sh run), never Go, npm or Maven, and no
regeneration of gen/ on a fresh clone (tools/gen.sh --fresh compares content hashes, not file times)."""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from meshctl import topology

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("go", "npm", "npx", "node", "mvn", "java", "curl", "wget")
RUNTIME_PACKAGES = ["meshkit", "meshctl", *(service.module for service in topology.load().services)]


def _stub_path(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH starts with stand-ins for the build tools that record each call and fail."""
    stubs, calls = tmp_path / "stubs", tmp_path / "calls.txt"
    stubs.mkdir()
    for tool in BUILD_TOOLS:
        (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\nexit 1\n')
        (stubs / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"}
    return env, calls


def _checkout(tmp_path: Path) -> Path:
    """The files tools/bootstrap.sh reads, in a scratch root, with a venv (no pip) that matches the run lock."""
    root = tmp_path / "repo"
    (root / "tools").mkdir(parents=True)
    (root / "gen" / "python").mkdir(parents=True)
    for name in ("tools/bootstrap.sh", "tools/install-codegen.sh", "tools/go-tools.txt", "requirements.lock"):
        shutil.copy2(ROOT / name, root / name)
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    digest = hashlib.sha256((root / "requirements.lock").read_bytes()).hexdigest()
    (venv / ".requirements.sha256").write_text(digest + "\n")
    return root


def _bootstrap(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "SHOPMESH_VENV": str(root / ".venv"), "PYTHON": sys.executable}
    return subprocess.run(
        [str(root / "tools" / "bootstrap.sh"), *args], env=env, capture_output=True, text=True, check=False
    )


def test_make_up_installs_only_the_run_set() -> None:
    # Run under `make test` this make is a sub-make: without its parent's flags it prints no "Entering directory".
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    proc = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", "gen/descriptor.binpb", "up"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    assert commands[0] == "tools/bootstrap.sh run", proc.stdout
    assert commands[-1].startswith(".venv/bin/python -m meshctl up"), proc.stdout
    assert not [c for c in commands[1:] if "bootstrap" in c or "gen.sh" in c], proc.stdout


def test_bootstrap_run_calls_no_go_npm_or_maven(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    env, calls = _stub_path(tmp_path)
    proc = _bootstrap(root, env, "run")
    assert proc.returncode == 0, proc.stderr
    assert not calls.exists(), calls.read_text()
    site = next((root / ".venv" / "lib").glob("python3*/site-packages"))
    assert (site / "shopmesh-dev.pth").read_text().split() == [str(root), str(root / "gen" / "python")]
    # the walkthrough's .tools/bin/grpcurl is there, as a stand-in that builds the real one on first use
    assert "shopmesh-grpcurl-stub" in (root / ".tools" / "bin" / "grpcurl").read_text()


def test_grpcurl_stand_in_builds_the_pinned_grpcurl_then_runs_it(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    env, _ = _stub_path(tmp_path)
    assert _bootstrap(root, env, "run").returncode == 0
    # a `go` that "builds" grpcurl by writing a script that echoes its arguments, and, like the real one,
    # refuses to overwrite a file that is not a Go binary (the stand-in is a script)
    fake_go = tmp_path / "fake-go"
    fake_go.mkdir()
    (fake_go / "go").write_text(
        '#!/bin/sh\n[ "$1" = install ] || exit 1\n'
        '[ -e "$GOBIN/grpcurl" ] && { echo "already exists and is not an object file" >&2; exit 1; }\n'
        'echo "$2" > "$GOBIN/.built"\n'
        'printf \'#!/bin/sh\\necho "real grpcurl $*"\\n\' > "$GOBIN/grpcurl"\nchmod +x "$GOBIN/grpcurl"\n'
    )
    (fake_go / "go").chmod(0o755)
    env["PATH"] = f"{fake_go}{os.pathsep}{env['PATH']}"
    grpcurl = root / ".tools" / "bin" / "grpcurl"
    proc = subprocess.run([str(grpcurl), "-plaintext", "x", "list"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "real grpcurl -plaintext x list\n"
    assert "bootstrap: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@" in proc.stderr
    spec = (root / ".tools" / "bin" / ".grpcurl.spec").read_text().strip()
    assert spec == (root / ".tools" / "bin" / ".built").read_text().strip()
    assert spec in (ROOT / "tools" / "go-tools.txt").read_text()
    # built once: the stand-in is gone and `bootstrap.sh run` leaves the real one alone
    assert _bootstrap(root, env, "run").returncode == 0
    assert "shopmesh-grpcurl-stub" not in grpcurl.read_text()


def test_install_steps_print_one_line_each_with_its_duration(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    (root / ".venv" / ".requirements.sha256").unlink()
    # a venv python whose pip "installs" at once: the step around it is what is checked
    python = root / ".venv" / "bin" / "python"
    python.unlink()
    site = tmp_path / "site"
    python.write_text(f'#!/bin/sh\ncase "$1" in -m) exit 0 ;; -c) echo {site} ;; esac\n')
    python.chmod(0o755)
    site.mkdir()
    env, _ = _stub_path(tmp_path)
    proc = _bootstrap(root, env, "python")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bootstrap: venv from requirements.lock … "), proc.stderr
    assert lines[0].endswith(" s") and float(lines[0].split("… ")[1][:-2]) >= 0


def test_gen_fresh_needs_no_tool_and_sees_a_contract_change(tmp_path: Path) -> None:
    env, calls = _stub_path(tmp_path)
    env["PATH"] = f"{tmp_path / 'stubs'}{os.pathsep}/usr/bin{os.pathsep}/bin"  # no venv (buf), no Go
    proc = subprocess.run(
        [str(ROOT / "tools" / "gen.sh"), "--fresh"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"gen/ is stale or --fresh is wrong: {proc.stderr}"
    assert not calls.exists()
    # a copy with one contract changed is not fresh, whatever the file times say
    copy = tmp_path / "repo"
    # every input gen/inputs.sha256 lists (protos and the generators), the script, and the record itself
    inputs = [line.split(maxsplit=1)[1] for line in (ROOT / "gen" / "inputs.sha256").read_text().splitlines()]
    for name in (
        "protos",
        "gen/inputs.sha256",
        "tools/gen.sh",
        *(i for i in inputs if not i.startswith("protos/")),
    ):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, copy / name)
    gen = [str(copy / "tools" / "gen.sh"), "--fresh"]
    assert subprocess.run(gen, env=env, capture_output=True).returncode == 0
    proto = next((copy / "protos").rglob("*.proto"))
    proto.write_text(proto.read_text() + "\n// changed\n")
    os.utime(copy / "gen" / "inputs.sha256")  # gen/ newer than the change: make's file times would miss it
    proc = subprocess.run(gen, env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and str(proto.relative_to(copy)) in proc.stderr


def _imported_roots(path: Path) -> set[str]:
    """The top-level names a module imports (absolute imports, lazy ones inside functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _third_party_imports(package: Path) -> set[str]:
    names = {name for path in package.rglob("*.py") for name in _imported_roots(path)}
    local = {p.name for p in ROOT.iterdir()} | {p.name for p in (ROOT / "gen" / "python").iterdir()}
    return names - set(sys.stdlib_module_names) - local - {"__future__"}


@pytest.mark.parametrize("package", [*RUNTIME_PACKAGES, "bench", "devkit"])
def test_import_boundaries(package: str) -> None:
    """Nothing outside tests/ imports the test suite (bench/ and the tests share devkit/ instead), and what the
    image ships (meshkit, meshctl, the services) never imports devkit/ or bench/, which it does not hold."""
    forbidden = {"tests"} if package in ("bench", "devkit") else {"tests", "devkit", "bench"}
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    for path in files:
        wrong = _imported_roots(path) & forbidden
        assert not wrong, f"{path.relative_to(ROOT)} imports {', '.join(sorted(wrong))}"


@pytest.mark.parametrize("package", [*RUNTIME_PACKAGES, "gen/python"])
def test_runtime_imports_come_from_the_run_lock(package: str) -> None:
    """What `make up` and the image run imports only what requirements.lock installs, not the dev lock."""
    run = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    providers = metadata.packages_distributions()
    for module in sorted(_third_party_imports(ROOT / package)):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists & run, f"{package} imports {module}, which requirements.lock does not install ({dists})"
