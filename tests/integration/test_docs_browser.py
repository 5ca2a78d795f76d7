"""/docs in a real browser (headless Chromium): Swagger UI loads from the service itself,
its Authorize dialog logs in with the OAuth2 password flow, and "Try it out" then calls a
protected route with the token. Runs where Chromium is installed (CI installs it and sets
REQUIRE_BROWSER=1, which turns a missing browser into a failure)."""

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.integration.server import ADMIN_PASSWORD, ADMIN_USERNAME, Server, database, run_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000

if CHROMIUM is None and os.environ.get("REQUIRE_BROWSER") != "1":
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("docs")
    with database(directory) as url, run_server(url, workdir=directory) as server:
        yield server


def test_docs_authorize_dialog_logs_in_and_try_it_out_calls_a_protected_route(
    server: Server,
) -> None:
    assert CHROMIUM is not None, "REQUIRE_BROWSER=1 but no Chromium: apt-get install chromium"
    elsewhere: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on(
                "request",
                lambda request: (
                    elsewhere.append(request.url)
                    if urlsplit(request.url).netloc != urlsplit(server.base_url).netloc
                    else None
                ),
            )
            page.goto(f"{server.base_url}/docs")

            page.locator("button.authorize").first.click()
            dialog = page.locator(".modal-ux")
            dialog.wait_for()
            dialog.locator("#oauth_username").fill(ADMIN_USERNAME)
            dialog.locator("#oauth_password").fill(ADMIN_PASSWORD)
            dialog.locator("button.authorize", has_text="Authorize").click()
            dialog.locator("button.authorize", has_text="Logout").wait_for()
            dialog.locator("button.btn-done").click()

            operation = page.locator("#operations-users-read_me_users_me_get")
            operation.locator(".opblock-summary").click()
            operation.get_by_role("button", name="Try it out").click()
            operation.get_by_role("button", name="Execute").click()
            live = operation.locator(".live-responses-table .response")
            live.locator(".response-col_status").wait_for()
            status = live.locator(".response-col_status").inner_text().strip()
            body = live.locator(".response-col_description pre").first.inner_text()
        finally:
            browser.close()

    assert status == "200", body
    assert f'"username": "{ADMIN_USERNAME}"' in body
    assert elsewhere == []  # Swagger UI came from the service, not from a CDN
