"""The container image, proven without a Docker engine: the Dockerfile installs through tools/bootstrap.sh (the
script `make test` runs) from requirements.lock, copies what the chart's commands need, and runs unprivileged.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shlex
import subprocess
from dataclasses import dataclass, field

import pytest
import yaml

from meshctl.topology import load
from tests.helm.conftest import CHART, ROOT, pod_specs, render

DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = ROOT / ".venv" / "bin"
RUNTIME_PACKAGES = ["meshkit", "meshctl", *(s.module for s in load().services)]


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and the stages: continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        elif not stages and keyword == "ARG":
            key, _, value = rest.partition("=")
            args[key] = value
        else:
            stages[-1].instructions.append(Instruction(keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(DOCKERFILE.read_text())


def _copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    words = [w for w in shlex.split(instruction.args) if not w.startswith("--")]
    return words[:-1], words[-1]


def test_multi_stage_on_one_slim_python_base(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    args, stages = dockerfile
    assert len(stages) == 2
    build, final = stages
    # the same base for both, so the virtualenv's interpreter link is valid in the final stage
    assert build.base == final.base == "${PYTHON_IMAGE}"
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", args["PYTHON_IMAGE"])
    assert build.name == "build" and final.name is None


def test_install_step_is_the_bootstrap_script_on_the_lock(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    build = dockerfile[1][0]
    runs = build.all("RUN")
    install = runs[0]
    # Exactly the script and mode the test suite's own install uses (tools/bootstrap.sh; `python`: the venv).
    assert install.args.split(" && ")[0] == "tools/bootstrap.sh python"
    # Before it, only the lock and the script are in the image: the layer depends on nothing else, and the
    # install cannot read a file the test suite's install did not.
    before = build.instructions[: build.instructions.index(install)]
    copied = [_copy_sources(i) for i in before if i.keyword == "COPY"]
    assert copied == [(["requirements.lock"], "./"), (["tools/bootstrap.sh"], "tools/")]
    workdir = [i.args for i in before if i.keyword == "WORKDIR"]
    assert workdir == ["/app"]
    env = " ".join(i.args for i in before if i.keyword == "ENV")
    assert "SHOPMESH_VENV=/opt/venv" in env


def test_bootstrap_python_reads_only_what_the_image_copies() -> None:
    """If tools/bootstrap.sh's Python install starts reading another repository file, the image must copy it."""
    script = (ROOT / "tools" / "bootstrap.sh").read_text()
    body = script[script.index("install_python() {") :]
    body = body[: body.index("\n}\n")]
    assert set(re.findall(r"\$root/([\w./-]+)", body)) <= {"requirements.lock", "gen/python"}
    assert "SHOPMESH_VENV" in script


def _locked(name: str) -> set[str]:
    return {
        line.split("==")[0].lower()
        for line in (ROOT / name).read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }


def test_image_installs_only_the_run_set(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    """requirements.lock is what running needs; the development tools are in requirements-dev.lock, never read."""
    install = dockerfile[1][0].all("RUN")[0].args
    assert install == "tools/bootstrap.sh python"
    instructions = [i.args for stage in dockerfile[1] for i in stage.instructions]
    assert not [i for i in instructions if "requirements-dev" in i]
    run, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert run and dev and not run & dev, f"in both locks: {sorted(run & dev)}"
    tools = {"pytest", "pytest-timeout", "ruff", "mypy", "grpcio-tools", "buf-bin", "kubernetes-validate"}
    assert tools <= dev, "a development tool is not in requirements-dev.lock (renamed?)"
    # and no runtime module imports one of them
    modules = {"pytest", "ruff", "mypy", "grpc_tools", "kubernetes_validate", "yaml", "jsonschema"}
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    assert name.split(".")[0] not in modules, f"{path.relative_to(ROOT)} imports {name}"


def test_final_stage_runs_unprivileged_without_build_tools(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    final = dockerfile[1][-1]
    (user,) = final.all("USER")
    uid, _, _gid = user.args.partition(":")
    assert uid.isdigit() and int(uid) >= 1000, "numeric non-root user (runAsNonRoot can verify it)"
    # the chart's pods run as that user
    for where, pod in pod_specs(render()).items():
        if "postgresql" not in where:
            assert pod["securityContext"]["runAsUser"] == int(uid), where
    run_text = " ".join(i.args for i in final.all("RUN"))
    for tool in ("apt-get", "apk", "gcc", "build-essential", "pip install"):
        assert tool not in run_text
    copies = [_copy_sources(i) for i in final.all("COPY")]
    assert all(i.args.startswith("--from=build") for i in final.all("COPY"))
    assert (["/opt/venv"], "/opt/venv") in copies and (["/app"], "/app") in copies
    env = " ".join(i.args for i in final.all("ENV"))
    assert "PATH=/opt/venv/bin:$PATH" in env  # `python` and `envoy` are the venv's


def test_image_holds_what_the_charts_commands_run(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    build = dockerfile[1][0]
    copied = {src.rstrip("/") for i in build.all("COPY") for src in _copy_sources(i)[0]}
    for package in RUNTIME_PACKAGES:
        assert package in copied, f"the image lacks {package}/"
    # The generated Python stubs (on sys.path through the venv's .pth) and the descriptor set; not the other
    # languages' clients.
    assert {"gen/python", "gen/descriptor.binpb"} <= copied
    assert "gen" not in copied
    assert "envoy/topology.toml" in copied
    commands = set()
    for pod in pod_specs(render()).values():
        for container in pod.get("initContainers", []) + pod["containers"]:
            if container["image"].startswith("shopmesh:"):
                commands.add(tuple(container["command"][:3]))
    modules = {c[2] for c in commands if c[:2] == ("python", "-m")}
    assert modules == {"meshctl.kubernetes", *(s.module for s in load().services)}
    assert ("envoy", "--config-path", "/etc/envoy/envoy.json") in commands


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used here: last match wins, `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if (
            fnmatch.fnmatch(path, pattern)
            or path.startswith(pattern + "/")
            or fnmatch.fnmatch(path, pattern.replace("**/", "*/"))
        ):
            ignored = not negate
    return ignored


def _dockerignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_dockerignore_admits_exactly_what_is_copied(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    patterns = _dockerignore_patterns()
    assert patterns[0] == "*"  # an allowlist
    sources = [src for i in dockerfile[1][0].all("COPY") for src in _copy_sources(i)[0]]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source.rstrip("/"), patterns), f"{source} is excluded from the build context"
    for path in (
        ".venv",
        ".tools",
        "var",
        "tests",
        "devkit",
        "bench",
        "helm",
        ".git",
        "meshkit/__pycache__/x.pyc",
    ):
        assert _ignored(path, patterns), f"{path} would be sent to the build"


DEVELOPMENT_ONLY = ("devkit", "tests", "bench")
"""What the image never holds: the dev kit the tests and the bench share, the suite, the bench."""


def test_image_ships_no_development_kit(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    """devkit/ (throwaway PostgreSQL, free ports) is for development only: no COPY names it or a folder above
    it and the build context never holds a file of it (nothing the image runs imports it either:
    tests/unit/test_bootstrap.py's test_import_boundaries)."""
    sources = [
        src.rstrip("/") for stage in dockerfile[1] for i in stage.all("COPY") for src in _copy_sources(i)[0]
    ]
    patterns = _dockerignore_patterns()
    for folder in DEVELOPMENT_ONLY:
        assert (ROOT / folder).is_dir(), folder
        for source in sources:
            if source.startswith("/"):  # from the build stage, not the context
                continue
            assert source not in (".", "") and not (source == folder or source.startswith(folder + "/")), (
                source
            )
        for path in (ROOT / folder).rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            assert _ignored(relative, patterns), f"{relative} would be in the build context"


def test_hadolint() -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chart_app_version_is_the_projects_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    (version,) = re.findall(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert chart["appVersion"] == version
