"""GET /docs on the public listener: the API reference page and the API descriptions, served by Envoy itself.

Every file is a route's `direct_response` read from disk when Envoy loads its configuration (no extra process,
no upstream): the page and Swagger UI (gen/docs, vendored by `make gen`), the OpenAPI 3.1 document
(gen/openapi) and the AsyncAPI 3.0 document (gen/asyncapi). Envoy holds each body in memory; the route
configuration's `max_direct_response_body_size_bytes` must admit the largest (Swagger UI's bundle, ~1.7 MB).

The docs are public: the JWT filter lets /docs through (envoy_security's rules), the gRPC-JSON transcoder is
off on these routes (it would refuse a path that is no RPC), and they have no rate limit of their own. A
redeployed gateway serves the files it was started with: they change only with the contracts (`make gen`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envoy_data_plane.envoy.config.core.v3 import (
    DataSource,
    HeaderValue,
    HeaderValueOption,
    HeaderValueOptionHeaderAppendAction,
)
from envoy_data_plane.envoy.config.route.v3 import DirectResponseAction, FilterConfig, Route, RouteMatch
from envoy_data_plane.google.protobuf import Any as AnyProto

from meshctl.topology import ROOT

GEN = ROOT / "gen"
MAX_BODY_BYTES = 4 * 1024 * 1024
"""The route configuration's max_direct_response_body_size_bytes (Envoy's default is 4 KiB)."""
TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
PREFIX = "/docs"


@dataclass(frozen=True)
class Page:
    path: str
    """The URL path at the gateway."""
    file: str
    """The file below gen/."""
    content_type: str


PAGES = (
    Page(PREFIX, "docs/index.html", "text/html; charset=utf-8"),
    Page(f"{PREFIX}/", "docs/index.html", "text/html; charset=utf-8"),
    Page(f"{PREFIX}/swagger-ui-bundle.js", "docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    Page(f"{PREFIX}/swagger-ui.css", "docs/swagger-ui.css", "text/css; charset=utf-8"),
    Page(f"{PREFIX}/SWAGGER-UI-LICENSE", "docs/SWAGGER-UI-LICENSE", "text/plain; charset=utf-8"),
    Page(f"{PREFIX}/openapi.json", "openapi/shopmesh.openapi.json", "application/json"),
    Page(f"{PREFIX}/asyncapi.json", "asyncapi/shopmesh.asyncapi.json", "application/json"),
)


def _header(key: str, value: str) -> HeaderValueOption:
    return HeaderValueOption(
        header=HeaderValue(key=key, value=value),
        append_action=HeaderValueOptionHeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def missing(gen_dir: Path | None = None) -> list[str]:
    """The files below gen/ the routes serve that `gen_dir` (default: this checkout's gen/) lacks: Envoy refuses
    to start on a configuration naming a file that is not there."""
    base = GEN if gen_dir is None else gen_dir
    return sorted({page.file for page in PAGES if not (base / page.file).is_file()})


def routes(gen_dir: Path = GEN) -> list[Route]:
    """One exact-path route per file. `gen_dir`: where the gateway finds gen/ (the image's on Kubernetes)."""
    off = {TRANSCODER: AnyProto.pack(FilterConfig(disabled=True))}
    return [
        Route(
            name=f"docs {page.path}",
            match=RouteMatch(path=page.path),
            direct_response=DirectResponseAction(
                status=200, body=DataSource(filename=str(gen_dir / page.file))
            ),
            typed_per_filter_config=off,
            response_headers_to_add=[
                _header("content-type", page.content_type),
                # They change only with a deployment; a minute of reuse spares the 1.7 MB bundle on reloads.
                _header("cache-control", "public, max-age=60"),
                _header("x-content-type-options", "nosniff"),
            ],
        )
        for page in PAGES
    ]
