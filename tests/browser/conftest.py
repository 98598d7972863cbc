"""Browser fixtures: Debian's chromium driven by Playwright. Nothing downloads a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
# Flags for a machine with no outside network: no background fetches, no component updates.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium not found at {CHROMIUM}: .ci/run installs it with apt")
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    # Playwright runs an event loop in this thread; the ORM calls in these tests happen before
    # and after the browser steps, never during them, so Django's async guard can stand down.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def csp_violations(page: Page) -> list[str]:
    """The Content-Security-Policy refusals the page meets from now on (an inline script or handler
    left in a template, a script from elsewhere): the list a test asserts empty at its end."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return refused
