"""`GET /docs` in real headless Chromium: the API reference renders every operation with every
request to another host refused (it works offline), and the bearer key can be entered."""

import os
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Route, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as home:
        proc = subprocess.Popen(
            [
                os.environ["VERSIONER_BIN"],
                "serve",
                "--db",
                os.path.join(home, "v.db"),
                "--listen",
                "127.0.0.1:0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={"HOME": home, "PATH": os.environ.get("PATH", "")},
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        try:
            yield line.removeprefix("listening on ")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_docs_render_every_operation_without_the_network(server: str) -> None:
    outside: list[str] = []
    failed: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("VERSIONER_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page()
        page.route("**/*", only_this_server)
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(server + "/docs", wait_until="networkidle")
        assert page.url == server + "/docs/"
        page.wait_for_selector(".opblock", timeout=15_000)
        spec = page.evaluate("fetch('/openapi.json').then(r => r.json())")
        operations = sum(
            1
            for item in spec["paths"].values()
            for method in item
            if method in {"get", "post", "put", "patch", "delete"}
        )
        assert page.locator(".opblock").count() == operations
        assert page.get_by_text("/deployment-events/").first.is_visible()
        # The bearer key can be given, as a user of the reference would.
        page.get_by_role("button", name="Authorize").first.click()
        page.wait_for_selector(".modal-ux input", timeout=5_000)
        page.screenshot(path=os.path.join(os.environ["VERSIONER_SHOTS"], "docs.png"))
        browser.close()
    assert outside == [], f"/docs asked another host: {outside}"
    assert failed == [], f"requests failed: {failed}"
