"""Browser tests: the real app served over HTTP, driven by Debian's headless Chromium.

``live`` starts the app (uvicorn, in a thread) on a private copy of the seeded demo federation
(SQLite, the embedded default) and yields its base URL, ``demo.json`` and the app itself (to
read the sign-in codes the in-memory sender "sent"). pytest-playwright provides ``page``;
``shot(page, name)`` saves a screenshot under test-artifacts/screenshots/ to look at.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar import Litestar

from tests.conftest import _template, make_test_settings
from tests.support.apps import app_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    browser: list[pytest.Item] = []
    for item in items:
        if here in Path(str(item.fspath)).parents:
            browser.append(item)
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not installed"))
    # Last: Playwright's sync API keeps an event loop running on the main thread for the rest
    # of the session, and any asyncio test after it would fail to start its own loop.
    chosen = set(map(id, browser))
    items[:] = [i for i in items if id(i) not in chosen] + browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@dataclass
class Live:
    url: str
    demo: dict[str, Any]
    app: Litestar

    def sign_in_code(self, phone: str) -> str:
        """The last one-time code the in-memory sender 'sent' to ``phone``."""
        for to, text in reversed(self.app.state.sender.sent):
            if to == phone and (m := re.search(r"\b(\d{6})\b", text)):
                return m.group(1)
        raise AssertionError(f"no sign-in code sent to {phone}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Live]:
    templates = request.getfixturevalue("demo_templates")
    # Playwright's sync API runs an event loop on this thread: seed the template off it.
    with ThreadPoolExecutor(1) as pool:
        src, demo = pool.submit(_template, "sqlite", templates, tmp_path_factory).result()
    db = tmp_path / "live.db"
    shutil.copyfile(src, db)
    settings = replace(
        make_test_settings(f"sqlite+aiosqlite:///{db}", tmp_path / "var"), sms_sender="memory"
    )
    app = app_for(settings)  # the process's app, on this test's own runtime
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{url}/health/live", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the app did not start") from None
            time.sleep(0.05)
    yield Live(url, demo, app)
    server.should_exit = True
    thread.join(timeout=10)


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/screenshots/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
