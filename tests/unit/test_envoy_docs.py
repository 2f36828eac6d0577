"""The /docs routes of the public listener (meshctl/envoy_docs.py), locally and in the chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from meshctl import envoy_config, envoy_docs, envoy_security, kubernetes
from meshctl.launcher import Mesh
from meshctl.probes import MeshError
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT, load

GEN = ROOT / "gen"


def _public_routes(config: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (listener,) = [x for x in config["staticResources"]["listeners"] if x["name"] == "public"]
    (hcm,) = listener["filterChains"][0]["filters"]
    route_config = hcm["typedConfig"]["routeConfig"]
    (vhost,) = route_config["virtualHosts"]
    return route_config, vhost["routes"]


def _docs_routes(routes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["match"]["path"]: r for r in routes if "directResponse" in r}


def test_every_docs_file_is_a_direct_response_from_gen() -> None:
    route_config, routes = _public_routes(envoy_config.render(load(), descriptor_path=DEFAULT_DESCRIPTOR))
    docs = _docs_routes(routes)
    assert set(docs) == {p.path for p in envoy_docs.PAGES}
    limit = int(route_config["maxDirectResponseBodySizeBytes"])
    for page in envoy_docs.PAGES:
        route = docs[page.path]
        filename = Path(route["directResponse"]["body"]["filename"])
        assert filename == GEN / page.file and filename.is_file(), filename
        assert filename.stat().st_size <= limit, f"{filename} is over max_direct_response_body_size_bytes"
        headers = {h["header"]["key"]: h["header"]["value"] for h in route["responseHeadersToAdd"]}
        assert headers["content-type"] == page.content_type
        # The transcoder would refuse a path that is no RPC (reject_unknown_method): off on these routes.
        assert route["typedPerFilterConfig"][envoy_docs.TRANSCODER] == {
            "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
            "disabled": True,
        }
        # No token needed (the same rules the JWT filter is rendered with), and no rate limit of their own.
        assert not envoy_security.token_required(load().gateway, page.path)
        assert envoy_security.RATE_LIMIT_FILTER not in route["typedPerFilterConfig"]


def test_the_page_links_the_descriptions_it_serves() -> None:
    index = (GEN / "docs" / "index.html").read_text()
    for page in envoy_docs.PAGES:
        if page.path.endswith((".js", ".css", ".json")):
            assert f'"{page.path}"' in index, page.path
    openapi = json.loads((GEN / "openapi" / "shopmesh.openapi.json").read_text())
    assert "/docs/asyncapi.json" in openapi["info"]["description"]


def test_the_chart_reads_the_docs_from_the_image() -> None:
    """The chart's Envoy finds the files under the image's /app/gen, which the Dockerfile copies there (a
    ConfigMap could not hold Swagger UI's bundle: 1 MiB at most)."""
    config = kubernetes.render_envoy(load())
    _, routes = _public_routes(config)
    files = {r["directResponse"]["body"]["filename"] for r in _docs_routes(routes).values()}
    assert files == {str(kubernetes.IMAGE_GEN / p.file) for p in envoy_docs.PAGES}
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for directory in sorted({p.file.split("/")[0] for p in envoy_docs.PAGES}):
        assert f"COPY gen/{directory}/ gen/{directory}/" in dockerfile
        assert f"!gen/{directory}/" in ignored


def test_make_up_names_missing_docs_files_instead_of_envoy_failing_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert envoy_docs.missing() == []  # the committed gen/ has them all
    partial = tmp_path / "gen"
    shutil.copytree(GEN / "openapi", partial / "openapi")
    assert "docs/index.html" in envoy_docs.missing(partial)
    assert "openapi/shopmesh.openapi.json" not in envoy_docs.missing(partial)
    monkeypatch.setattr(envoy_docs, "GEN", partial)
    with pytest.raises(MeshError, match=r"gen/docs/index.html.*run `make gen`"):
        Mesh(load(), tmp_path / "run", env={}).write_envoy_config()
