"""GET /docs in a real browser: Debian's chromium, driven by Playwright, against the real gateway.

The page (Swagger UI over gen/openapi/shopmesh.openapi.json, served by Envoy from files) must list every public
operation, and "Try it out" on ListProducts must call this same gateway and show the catalog, with a product
this test created in it. The descriptions and their links are checked over plain HTTP too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from meshctl.topology import ROOT
from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import Stubs

CHROMIUM = Path("/usr/bin/chromium")
OPENAPI = ROOT / "gen" / "openapi" / "shopmesh.openapi.json"
PATIENCE_MS = 30_000  # a loaded 2-core machine parses the 1.7 MB bundle slowly; the happy path takes ~2 s


def _public_operations() -> dict[str, tuple[str, str]]:
    document = json.loads(OPENAPI.read_text())
    return {
        op["operationId"]: (verb.upper(), path)
        for path, item in document["paths"].items()
        for verb, op in item.items()
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), (
        "no /usr/bin/chromium: `make install` installs Debian's chromium (tools/bootstrap.sh)"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    expect.set_options(timeout=PATIENCE_MS)
    try:
        yield page
    finally:
        context.close()


def test_the_descriptions_are_served_next_to_the_page(mesh: RunningMesh) -> None:
    # Anonymous, and with a token the gateway rejects: /docs is public whatever the caller sends.
    for rest in (mesh.rest, mesh.rest.as_user("not-a-token")):
        openapi = rest.get("/docs/openapi.json")
        assert openapi.status == 200, openapi.text
        assert openapi.json == json.loads(OPENAPI.read_text())
        asyncapi = rest.get("/docs/asyncapi.json")
        assert asyncapi.status == 200 and asyncapi.json["asyncapi"] == "3.0.0"
    index = mesh.rest.get("/docs")
    assert index.status == 200 and 'href="/docs/asyncapi.json"' in index.text


def _page_token_before(mesh: RunningMesh, product_name: str, page_size: int) -> str:
    """The page_token of the ListProducts page holding `product_name` (the session's other tests add
    products too, so it may not be on the first)."""
    token = ""
    for _ in range(100):
        query = f"/v1/products?page_size={page_size}" + (f"&page_token={token}" if token else "")
        listed = mesh.rest.get(query)
        assert listed.status == 200, listed.text
        if any(p["name"] == product_name for p in listed.json["products"]):
            return token
        token = listed.json["next_page_token"]
        assert token, f"{product_name} is in no page"
    raise AssertionError("too many pages")


def test_docs_page_lists_every_operation_and_runs_list_products(
    mesh: RunningMesh, page: Page, tmp_path: Path
) -> None:
    product = Stubs(mesh.channel, mesh.admin_token).product(stock=7)
    page_size = 1000
    page_token = _page_token_before(mesh, product.name, page_size)
    seen_requests: list[str] = []
    page.on("request", lambda request: seen_requests.append(request.url))

    page.goto(f"{mesh.endpoints.rest}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("shopmesh REST API")
    expect(page.locator("a#asyncapi-link")).to_have_attribute("href", "/docs/asyncapi.json")

    # Every public operation is on the page (Swagger UI: one .opblock per operation, id tag + operationId).
    operations = _public_operations()
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    for operation_id, (verb, path) in operations.items():
        tag = operation_id.split("_")[0]
        block = page.locator(f"#operations-{tag}-{operation_id}")
        expect(block.locator(".opblock-summary-method")).to_have_text(verb)
        expect(block.locator(".opblock-summary-path")).to_have_attribute("data-path", path)

    # Try it out: ListProducts, no token needed.
    block = page.locator("#operations-ProductService-ProductService_ListProducts")
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator('tr[data-param-name="page_size"] input').fill(str(page_size))
    if page_token:
        block.locator('tr[data-param-name="page_token"] input').fill(page_token)
    block.locator("button.execute").click()

    live = block.locator(".live-responses-table tr.response")
    expect(live.locator("td.response-col_status")).to_have_text("200")
    shown = live.locator("td.response-col_description pre").first
    expect(shown).to_contain_text(product.name)
    body: dict[str, Any] = json.loads(shown.inner_text())
    (listed,) = [p for p in body["products"] if p["name"] == product.name]
    assert (listed["sku"], listed["stock"], listed["price"]["currency_code"]) == (product.sku, 7, "EUR")
    # The call went to this gateway (same origin), as the page built it.
    calls = [url for url in seen_requests if "/v1/products?" in url]
    assert calls and all(url.startswith(mesh.endpoints.rest + "/v1/products?") for url in calls), calls

    shot = tmp_path / "docs-list-products.png"
    live.scroll_into_view_if_needed()  # the shot shows the answer the page got
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")  # for a person to look at (pytest -s)
