"""The breaking-change guard: `buf breaking` against gen/baseline.binpb catches a break in a copy of protos/.

tools/breaking.sh compares protos/ with the committed baseline image (the contracts as of the last
`make gen`); tools/gen.sh runs it before generating anything, so `make gen` and CI's `make check-gen`
both fail on a removed, renumbered or retyped field. These tests break a temporary copy of the
contracts on purpose and watch the guard fire, and check that additive changes and deliberate,
accepted breaks pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "gen" / "baseline.binpb"
ORDER_PROTO = "protos/shopmesh/order/v1/order_service.proto"
USER_PROTO = "protos/shopmesh/user/v1/user_service.proto"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of what the guard reads: protos/, buf.yaml, the baseline, the scripts; the venv linked."""
    for name in ("protos", "tools"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for name in ("buf.yaml", "buf.gen.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "gen").mkdir()
    shutil.copy2(BASELINE, tmp_path / "gen" / "baseline.binpb")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    # The imported protos (googleapis, protovalidate), laid out as tools/gen.sh does.
    subprocess.run([str(ROOT / "tools" / "protodeps.sh"), str(tmp_path / "build" / "protodeps")], check=True)
    return tmp_path


def edit(repo: Path, path: str, old: str, new: str) -> None:
    file = repo / path
    text = file.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    file.write_text(text.replace(old, new))


def run(repo: Path, *cmd: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=repo, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )


def breaking(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run(repo, "tools/breaking.sh", **env)


def test_the_committed_baseline_holds_every_contract() -> None:
    image = descriptor_pb2.FileDescriptorSet.FromString(BASELINE.read_bytes())
    names = {file.name for file in image.file}
    contracts = {p.relative_to(ROOT / "protos").as_posix() for p in (ROOT / "protos").rglob("*.proto")}
    assert contracts and contracts <= names


def test_unchanged_contracts_pass(repo: Path) -> None:
    result = breaking(repo)
    assert result.returncode == 0, result.stderr


def test_removing_a_field_is_caught(repo: Path) -> None:
    edit(
        repo, ORDER_PROTO, "  google.type.Money total = 4 [(google.api.field_behavior) = OUTPUT_ONLY];\n", ""
    )
    result = breaking(repo)
    assert result.returncode == 1
    assert 'Previously present field "4" with name "total" on message "Order" was deleted' in result.stderr
    assert "make accept-breaking" in result.stderr


def test_renumbering_a_field_is_caught(repo: Path) -> None:
    edit(repo, USER_PROTO, "string display_name = 3", "string display_name = 30")
    result = breaking(repo)
    assert result.returncode == 1
    assert (
        'Previously present field "3" with name "display_name" on message "User" was deleted' in result.stderr
    )


def test_changing_a_field_type_is_caught(repo: Path) -> None:
    edit(repo, ORDER_PROTO, "int32 quantity = 2", "int64 quantity = 2")
    result = breaking(repo)
    assert result.returncode == 1
    assert re.search(r'Field "2" with name "quantity" on message "OrderItem" changed type', result.stderr)


def test_removing_an_rpc_is_caught(repo: Path) -> None:
    text = (repo / ORDER_PROTO).read_text()
    rpc = re.search(r"  rpc CancelOrder\(.*?\n  }\n", text, flags=re.S)
    assert rpc
    (repo / ORDER_PROTO).write_text(text.replace(rpc.group(0), ""))
    result = breaking(repo)
    assert result.returncode == 1
    assert 'Previously present RPC "CancelOrder" on service "OrderService" was deleted' in result.stderr


def test_adding_a_field_passes(repo: Path) -> None:
    edit(
        repo,
        ORDER_PROTO,
        "  google.protobuf.Timestamp update_time = 9",
        "  // A note for the courier.\n  string note = 99;\n\n  google.protobuf.Timestamp update_time = 9",
    )
    result = breaking(repo)
    assert result.returncode == 0, result.stderr


def test_a_deliberate_break_can_be_accepted(repo: Path) -> None:
    edit(repo, USER_PROTO, "string display_name = 3", "string display_name = 30")
    result = breaking(repo, SHOPMESH_ACCEPT_BREAKING="1")
    assert result.returncode == 0, result.stderr
    assert "accepted on purpose" in result.stderr


def test_the_generation_check_ci_runs_fails_on_a_break(repo: Path) -> None:
    """`make check-gen` (tools/gen.sh --check, part of `make test`) stops at the guard, before generating."""
    edit(
        repo, ORDER_PROTO, "  google.type.Money total = 4 [(google.api.field_behavior) = OUTPUT_ONLY];\n", ""
    )
    result = run(repo, "tools/gen.sh", "--check")
    assert result.returncode == 1
    assert 'field "4" with name "total" on message "Order" was deleted' in result.stderr
    assert not (repo / "gen" / "python").exists()


def _maven_tool(name: str) -> str:
    for line in (ROOT / "tools" / "maven-tools.txt").read_text().splitlines():
        fields = line.split()
        if fields and not line.startswith("#") and fields[1] == name:
            return fields[0].rsplit(":", 1)[1]
    raise AssertionError(f"{name} is not in tools/maven-tools.txt")


def test_generated_code_runtimes_match_their_generators() -> None:
    """Generated code needs a runtime at least as new as its generator: keep the pins together."""
    # Java: protoc 4.x.y (Maven numbering) writes gencode for protobuf-java 4.x.y; grpc-java likewise.
    pom = (ROOT / "tools" / "packaging" / "java" / "pom.xml").read_text()
    assert f"<protobuf.version>{_maven_tool('protoc')}</protobuf.version>" in pom
    assert f"<grpc.version>{_maven_tool('protoc-gen-grpc-java')}</grpc.version>" in pom
    example_pom = (ROOT / "examples" / "java" / "purchase" / "pom.xml").read_text()
    assert f"<grpc.version>{_maven_tool('protoc-gen-grpc-java')}</grpc.version>" in example_pom

    # TypeScript: @bufbuild/protobuf, as the package and the example require it, matches protoc-gen-es.
    lock = json.loads((ROOT / "tools" / "node" / "package-lock.json").read_text())
    es = lock["packages"]["node_modules/@bufbuild/protoc-gen-es"]["version"]
    package = json.loads((ROOT / "tools" / "packaging" / "ts" / "package.json").read_text())
    assert package["dependencies"]["@bufbuild/protobuf"] == f"^{es}"
    example = json.loads((ROOT / "examples" / "ts" / "package.json").read_text())
    assert example["dependencies"]["@bufbuild/protobuf"] == es

    # Go: protoc-gen-go and the google.golang.org/protobuf runtime are released together.
    go_tools = (ROOT / "tools" / "go-tools.txt").read_text()
    (gen_go,) = re.findall(r"google.golang.org/protobuf/cmd/protoc-gen-go@(v\S+)", go_tools)
    go_mod = (ROOT / "tools" / "packaging" / "go" / "go.mod").read_text()
    assert f"google.golang.org/protobuf {gen_go}\n" in go_mod
