"""The documentation holds together: links resolve, the README stays a first screen, and what the docs name
(make targets, environment variables) exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, ROOT / "ARCHITECTURE.md", *DOCS]
README_MAX_BYTES = 10 * 1024
"""The README is the first screen (what shopmesh is, two commands, one purchase, links); topics live in docs/."""

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SERVICE_MODULES = ["svc_user", "svc_product", "svc_order", "svc_payment", "svc_notification"]


def _prose_and_code(path: Path) -> tuple[list[str], list[str]]:
    """The file's lines outside fenced code blocks, and those inside them."""
    prose, code, fenced = [], [], False
    for line in path.read_text().splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        elif fenced:
            code.append(line)
        else:
            prose.append(line)
    return prose, code


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lowercased, punctuation but `-` and `_` dropped,
    each space a hyphen (github-slugger)."""
    parts = re.split(r"(`+[^`]+`+)", heading)
    text = "".join(
        part.strip("`") if part.startswith("`") else re.sub(r"[*]|<[^>]+>", "", part) for part in parts
    )
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub gives the headings of `path` (a repeated slug gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    result = set()
    for line in _prose_and_code(path)[0]:
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path: Path) -> list[str]:
    """The targets of the Markdown links of `path`, outside code blocks and code spans."""
    found = []
    for line in _prose_and_code(path)[0]:
        found += _LINK.findall(_CODE_SPAN.sub("", line))
    return found


def _relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in filter(_relative, links(page)):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_slug_follows_github() -> None:
    assert slug("A purchase, step by step") == "a-purchase-step-by-step"
    assert slug("Clients in Go, TypeScript and Java") == "clients-in-go-typescript-and-java"
    assert slug("`make up` and `SVC_<NAME>_PORT`") == "make-up-and-svc_name_port"
    assert slug("Signing keys: rotation (600 s)") == "signing-keys-rotation-600-s"


def test_readme_is_a_first_screen() -> None:
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes; move detail into docs/ (bound {README_MAX_BYTES})"
    )


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(README) if _relative(t)}
    assert DOCS, "docs/ has no pages"
    missing = [p.name for p in DOCS if p.resolve() not in linked]
    assert not missing, f"README.md links no docs/{missing}"


def test_quick_start_is_two_commands() -> None:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]
    assert commands == ["make up", "make test"]


def _makefile_targets() -> set[str]:
    targets = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([a-z][a-z -]*[a-z]):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def test_every_make_target_the_docs_name_exists() -> None:
    targets, unknown = _makefile_targets(), []
    for page in PAGES:
        prose, code = _prose_and_code(page)
        spans = [m.group(2) for line in prose for m in _CODE_SPAN.finditer(line)]
        for snippet in spans + code:
            for command in re.split(r"&&|\|\||[;|(]", snippet.split("#", 1)[0]):
                match = re.match(r"make\s+([a-z][a-z-]*)", command.strip())
                if match and match.group(1) not in targets:
                    unknown.append(f"{page.name}: make {match.group(1)}")
    assert not unknown, unknown


def _variables_read_by_services() -> set[str]:
    """Every variable a service's `--help` lists (meshkit.settings.env_help and each service's additions)."""
    names = set()
    for module in SERVICE_MODULES:
        help_text = importlib.import_module(f"{module}.settings").ENV_HELP
        names.update(re.findall(r"^\s+([A-Z][A-Z0-9_]+)\s", help_text, re.MULTILINE))
    return names


def test_configuration_lists_every_variable_a_service_reads() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = []
    for name in sorted(_variables_read_by_services()):
        generic = re.sub(r"^SVC_[A-Z]+_", "SVC_<NAME>_", name)
        if f"`{name}`" not in text and f"`{generic}`" not in text:
            missing.append(name)
    assert not missing, f"docs/configuration.md does not list {missing}"
