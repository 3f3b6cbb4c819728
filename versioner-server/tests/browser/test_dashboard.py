"""The dashboard in real headless Chromium: `versioner serve` on a fresh database, events
recorded through the API, and in the browser: sign-in and sign-out, the matrix's cells and drift
row, a cell's detail, a new event appearing live without a reload (and again after a server
restart), filters kept across visits, deployments and blocked attempts, products and versions, a
rule status change by an admin and its refusal for a viewer, the what-if form, no console
errors, and axe-core with no serious or critical violation. Every page is screenshot at 1280 and
390 px wide under target/screenshots/. Requests to any other host are refused, so a page that
needs the network fails."""

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}
BIN = os.environ.get("VERSIONER_BIN", "versioner")
SHOTS = os.environ.get("VERSIONER_SCREENSHOTS", "target/screenshots")
AXE = os.environ.get("VERSIONER_AXE", "")

POLICY = """
[[rules]]
name = "Staging before production"
type = "flow"
description = "A version reaches production only after staging"
environments = ["production"]
prerequisites = ["staging"]

[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
per = "product_environment"
"""


def cli(home: str, *args: str) -> str:
    out = subprocess.run(
        [BIN, *args],
        capture_output=True,
        text=True,
        check=True,
        env={"HOME": home, "PATH": os.environ.get("PATH", "")},
    )
    return out.stdout


@dataclass
class Server:
    home: str
    db: str
    url: str = ""
    port: int = 0
    proc: "subprocess.Popen[str] | None" = None
    keys: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        listen = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", self.db, "--listen", listen],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={"HOME": self.home, "PATH": os.environ.get("PATH", "")},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        self.url = line.removeprefix("listening on ")
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None

    def post(self, path: str, body: dict, key: str = "admin") -> tuple[int, dict]:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.keys[key]}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def deploy(self, product: str, version: str, env: str, status: str, **extra) -> int:
        body = {
            "product_name": product,
            "version": version,
            "environment_name": env,
            "status": status,
            **extra,
        }
        return self.post("/deployment-events/", body)[0]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as home:
        db = os.path.join(home, "v.db")
        s = Server(home=home, db=db)
        for name, principal, role in [
            ("root", "ada", "admin"),
            ("val-laptop", "val", "viewer"),
            ("pipeline", "pipeline", "ci"),
        ]:
            out = cli(home, "keys", "create", "--db", db, "--name", name,
                      "--principal", principal, "--role", role)
            s.keys[role] = out.strip().splitlines()[-1].strip()
        policy = os.path.join(home, "policy.toml")
        with open(policy, "w") as f:
            f.write(POLICY)
        cli(home, "rules", "apply", "--db", db, policy)
        s.start()
        # api: 1.0.0 everywhere, then 1.1.0 in dev (drift); web: 2.0 in dev and staging.
        build = {
            "product_name": "api", "version": "1.0.0", "status": "completed",
            "scm_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "build_number": "417",
            "build_url": "https://ci.example.invalid/builds/417",
        }
        assert s.post("/build-events/", build)[0] in (200, 201)
        for product, version, env in [
            ("api", "1.0.0", "dev"), ("api", "1.0.0", "staging"),
            ("api", "1.1.0", "dev"), ("web", "2.0", "dev"), ("web", "2.0", "staging"),
        ]:
            assert s.deploy(product, version, env, "completed") == 200
        assert s.deploy("api", "1.0.0", "production", "started",
                        deploy_url="https://ci.example.invalid/runs/9") == 200
        assert s.deploy("api", "1.0.0", "production", "completed") == 200
        # Refused: web 3.0 never ran in staging.
        assert s.deploy("web", "3.0", "production", "started") == 428
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=os.environ.get("VERSIONER_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        yield b
        b.close()


class Watch:
    """A page that refuses other hosts and records console errors and failed requests."""

    def __init__(self, browser: Browser, server: Server, scheme: str = "light") -> None:
        # bypass_csp: only so that axe-core can be injected; the pages' own CSP is tested by the
        # server's Rust tests and holds for everything the pages load themselves.
        self.context = browser.new_context(
            bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 900}
        )
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.route("**/*", self._only(server))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _only(self, server: Server):
        def handle(route: Route) -> None:
            if route.request.url.startswith(f"http://127.0.0.1:{server.port}"):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        return handle

    def sign_in(self, server: Server, role: str) -> None:
        self.page.goto(server.url + "/")
        expect(self.page).to_have_url(server.url + "/ui/sign-in")
        self.page.get_by_label("API key").fill(server.keys[role])
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page).to_have_url(server.url + "/")

    def axe(self, label: str) -> None:
        assert AXE, "VERSIONER_AXE (axe.min.js) is not set: run scripts/test-browser.sh"
        self.page.add_script_tag(path=AXE)
        res = self.page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', "
            "values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in res["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{label}: accessibility violations {bad}"

    def shoot(self, name: str) -> None:
        os.makedirs(SHOTS, exist_ok=True)
        for width_name, (w, h) in WIDTHS.items():
            self.page.set_viewport_size({"width": w, "height": h})
            self.page.screenshot(path=os.path.join(SHOTS, f"{name}-{w}.png"), full_page=True)
            # Usable at this width: nothing but a scroll region is wider than the window.
            overflow = self.page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{name} at {w} px overflows by {overflow} px"
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def check_clean(self) -> None:
        assert self.outside == [], f"asked another host: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"

    def close(self) -> None:
        self.context.close()


def cell(page: Page, product: str, env: str):
    return page.locator(f'tr[data-product="{product}"] td[data-environment="{env}"]')


def test_sign_in_matrix_cell_live_update_and_sign_out(server: Server, browser: Browser) -> None:
    w = Watch(browser, server)
    page = w.page
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/ui/sign-in")
    w.axe("sign-in")
    w.shoot("sign-in")
    # A wrong key is refused on the page.
    page.get_by_label("API key").fill("sk_vr_0000_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    w.errors.clear()  # the 401 answer is logged by Chromium as a failed resource
    page.get_by_label("API key").fill(server.keys["admin"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url + "/")
    cookie = next(c for c in w.context.cookies() if c["name"] == "vr_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # The matrix: columns in environment-type order, cells, the drift row.
    heads = page.locator("table.matrix thead th[data-environment]")
    expect(heads).to_have_count(3)
    assert [heads.nth(i).get_attribute("data-environment") for i in range(3)] == [
        "dev", "staging", "production"]
    expect(page.locator('tr[data-product="api"]')).to_have_attribute("data-drift", "true")
    assert page.locator('tr[data-product="web"]').get_attribute("data-drift") is None
    expect(cell(page, "api", "dev")).to_have_attribute("data-version", "1.1.0")
    expect(cell(page, "api", "staging")).to_have_attribute("data-version", "1.0.0")
    expect(cell(page, "api", "production")).to_have_attribute("data-version", "1.0.0")
    expect(cell(page, "web", "production")).to_have_attribute("data-version", "")
    w.axe("matrix")
    w.shoot("matrix")

    # Keyboard: the first Tab reaches the skip link, which moves focus to the content; Tab
    # then walks the filters and reaches a cell's link, which Enter follows.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('td[data-environment]') !== null"):
            break
    else:
        pytest.fail("no matrix cell is reachable with the keyboard")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/cell\?product="))
    page.go_back()

    # A cell's detail: version, SHA, build number, who, CI link, the admitting verdict.
    cell(page, "api", "production").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("api in production")
    expect(page.locator("dd[data-version]")).to_have_attribute("data-version", "1.0.0")
    expect(page.locator("dl.facts")).to_contain_text("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
    expect(page.locator("dl.facts")).to_contain_text("417")
    expect(page.locator("dl.facts")).to_contain_text("ada")
    expect(page.get_by_role("link", name="open").first).to_have_attribute(
        "href", "https://ci.example.invalid/runs/9")
    expect(page.locator(".verdict")).to_contain_text("Staging before production")
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    w.axe("cell")
    w.shoot("cell")

    # Live: a new event appears without a reload, within two seconds.
    page.goto(server.url + "/")
    page.wait_for_timeout(300)  # the stream connects
    page.evaluate("window.__notReloaded = true")
    started = time.monotonic()
    assert server.deploy("api", "1.1.0", "staging", "completed") == 200
    expect(cell(page, "api", "staging")).to_have_attribute("data-version", "1.1.0", timeout=2000)
    assert time.monotonic() - started < 2.0
    assert page.evaluate("window.__notReloaded") is True
    assert server.deploy("web", "2.1", "dev", "started") == 200
    expect(cell(page, "web", "dev").locator(".chip.run")).to_have_text("deploying 2.1", timeout=2000)
    assert page.evaluate("window.__notReloaded") is True

    # Filters are kept across visits (a cookie), until cleared.
    page.get_by_label("Product", exact=True).fill("web")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody tr[data-product]")).to_have_count(1)
    page.goto(server.url + "/")
    expect(page.locator("tbody tr[data-product]")).to_have_count(1)
    expect(page.get_by_label("Product", exact=True)).to_have_value("web")
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("tbody tr[data-product]")).to_have_count(2)

    # As of a past instant: before anything was deployed, nothing shows; not live.
    page.goto(server.url + "/?at=2000-01-01T00:00:00Z")
    expect(page.locator("p.empty")).to_contain_text("Nothing is deployed yet")
    assert page.locator("[data-live]").count() == 0

    # Sign out: the session is gone, the pages ask to sign in again.
    page.goto(server.url + "/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.url + "/ui/sign-in?signed_out=1")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(server.url + "/ui/rules")
    expect(page).to_have_url(server.url + "/ui/sign-in?next=%2Fui%2Frules")
    w.check_clean()
    w.close()


def test_pages_deployments_products_and_what_if(server: Server, browser: Browser) -> None:
    w = Watch(browser, server)
    page = w.page
    w.sign_in(server, "admin")

    page.goto(server.url + "/ui/deployments")
    expect(page.locator("#blocked-h")).to_contain_text("Blocked attempts (1)")
    attempt = page.locator("details.attempt")
    expect(attempt).to_contain_text("FLOW_VIOLATION")
    attempt.locator("summary").click()
    expect(attempt.locator("table.outcomes")).to_contain_text("Staging before production")
    expect(attempt.locator("table.outcomes")).to_contain_text("One at a time")
    w.axe("deployments")
    w.shoot("deployments")
    page.get_by_label("Product", exact=True).fill("web")
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)

    page.goto(server.url + "/ui/products")
    page.get_by_role("link", name="api", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("api")
    expect(page.locator('tr[data-version="1.0.0"]')).to_contain_text("production")
    w.axe("product")
    w.shoot("product")
    page.get_by_role("link", name="1.0.0", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("api 1.0.0")
    expect(page.locator("dl.facts")).to_contain_text("417")
    # Where it may go now: the core's dry-run check for every environment.
    ready = page.get_by_role("region", name="Readiness by environment").locator("tbody tr")
    expect(ready).to_have_count(3)
    expect(ready.filter(has_text="production")).to_have_attribute("data-allowed", "true")
    w.axe("version")
    w.shoot("version")
    page.goto(server.url + "/ui/products")
    w.shoot("products")

    # What if: web 3.0 to production is refused by the flow rule; web 2.0 passes.
    page.goto(server.url + "/ui/check")
    page.get_by_label("Product", exact=True).fill("web")
    page.get_by_label("Version").fill("3.0")
    page.get_by_label("Environment").fill("production")
    page.get_by_role("button", name="Check").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-allowed", "false")
    expect(verdict).to_contain_text("FLOW_VIOLATION")
    w.axe("what-if")
    w.shoot("what-if")
    page.get_by_label("Version").fill("2.0")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#verdict")).to_have_attribute("data-allowed", "true")

    # Dark mode is accessible too.
    dark = Watch(browser, server, scheme="dark")
    dark.sign_in(server, "admin")
    dark.axe("matrix (dark)")
    dark.page.screenshot(path=os.path.join(SHOTS, "matrix-dark-1280.png"), full_page=True)
    dark.check_clean()
    dark.close()
    w.check_clean()
    w.close()


def test_rule_status_change_by_an_admin_and_refused_for_a_viewer(
    server: Server, browser: Browser
) -> None:
    admin = Watch(browser, server)
    page = admin.page
    admin.sign_in(server, "admin")
    page.goto(server.url + "/ui/rules")
    rule = page.locator('section[data-rule="One at a time"]')
    expect(rule).to_have_attribute("data-status", "enabled")
    rule.get_by_label("New status").select_option("report_only")
    rule.get_by_label("Reason").fill("incident 42: allow parallel hotfixes")
    rule.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_contain_text("One at a time")
    rule = page.locator('section[data-rule="One at a time"]')
    expect(rule).to_have_attribute("data-status", "report_only")
    rule.locator("details summary").click()
    expect(rule.locator("table")).to_contain_text("incident 42: allow parallel hotfixes")
    expect(rule.locator("table")).to_contain_text("ada")
    admin.axe("rules")
    admin.shoot("rules")
    admin.check_clean()
    admin.close()

    viewer = Watch(browser, server)
    page = viewer.page
    viewer.sign_in(server, "viewer")
    page.goto(server.url + "/ui/rules")
    expect(page.locator("[data-rule-changes=refused]")).to_contain_text("viewer")
    expect(page.locator("form.status")).to_have_count(0)
    # A hand-made POST with the viewer's own CSRF token is refused by the role matrix.
    status = page.evaluate(
        """async () => {
            const csrf = document.querySelector('input[name=csrf]').value;
            const body = new URLSearchParams({csrf, name: 'One at a time', status: 'disabled',
                                              reason: 'sneaky'});
            const r = await fetch('/ui/rules/status', {method: 'POST', body});
            return r.status;
        }"""
    )
    assert status == 403
    viewer.errors.clear()  # Chromium logs the 403 as a failed resource
    page.reload()
    expect(page.locator('section[data-rule="One at a time"]')).to_have_attribute(
        "data-status", "report_only")
    viewer.shoot("rules-viewer")
    viewer.check_clean()
    viewer.close()


def test_live_stream_reconnects_after_a_server_restart(server: Server, browser: Browser) -> None:
    w = Watch(browser, server)
    page = w.page
    w.sign_in(server, "admin")
    page.wait_for_timeout(300)
    page.evaluate("window.__notReloaded = true")
    server.stop()
    page.wait_for_timeout(500)
    server.start()  # same database, same port; the session is in the database
    assert server.deploy("api", "1.2.0", "dev", "completed") == 200
    expect(cell(page, "api", "dev")).to_have_attribute("data-version", "1.2.0", timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True
    # Only the connection errors of the restart itself were logged.
    unexpected = [e for e in w.errors if "ERR_CONNECTION_REFUSED" not in e
                  and "ERR_EMPTY_RESPONSE" not in e and "ERR_INCOMPLETE_CHUNKED" not in e]
    assert unexpected == [], unexpected
    w.close()


def test_a_qa_engineer_approves_the_slot_that_awaits_them(server: Server, browser: Browser) -> None:
    out = cli(server.home, "keys", "create", "--db", server.db, "--name", "quinn-laptop",
              "--principal", "quinn", "--role", "qa")
    server.keys["qa"] = out.strip().splitlines()[-1].strip()
    status, dr = server.post("/deployment-requests/", {
        "name": "Q4 release", "versions": [{"product_name": "web", "version": "2.0"}],
        "environments": ["staging", "production"],
        "slots": [{"approval_type": "qa"}, {"approval_type": "security", "optional": True}],
        "pre_steps": ["Announce in #deploys"],
    })
    assert status == 201, dr
    assert server.post(f"/deployment-requests/{dr['id']}/submit", {})[0] == 200

    w = Watch(browser, server)
    page = w.page
    w.sign_in(server, "qa")
    page.get_by_role("link", name="Requests").click()
    awaiting = page.locator("#awaiting")
    expect(awaiting.locator("[data-awaiting]")).to_have_attribute("data-awaiting", "1")
    awaiting.get_by_role("link", name="Q4 release").click()
    expect(page.locator("[data-request-status]").first).to_have_attribute(
        "data-request-status", "in_progress")
    expect(page.locator('td[data-cell="web@staging"]')).to_have_attribute(
        "data-cell-state", "deployed")
    expect(page.locator('td[data-cell="web@production"]')).to_have_attribute(
        "data-cell-state", "not_deployed")
    w.axe("request")
    slot = page.locator('div[data-slot="qa"]')
    slot.get_by_label("Comment (required to reject)").fill("regression suite green")
    slot.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("approved")
    expect(page.locator('div[data-slot="qa"]')).to_have_attribute("data-slot-status", "approved")
    expect(page.locator('div[data-slot="qa"]')).to_contain_text("quinn")
    expect(page.locator("[data-request-status]").first).to_have_attribute(
        "data-request-status", "approved")
    w.shoot("request")
    page.goto(server.url + "/ui/requests")
    expect(page.locator("#awaiting [data-awaiting]")).to_have_attribute("data-awaiting", "0")
    w.axe("requests")
    w.shoot("requests")
    page.get_by_role("link", name="Insights").click()
    expect(page.locator('section[data-key="deployment_frequency"]')).to_be_visible()
    w.axe("insights")
    w.shoot("insights")
    w.check_clean()
    w.close()
