"""Headless Chromium for the HTML report tests: the DOM after the page's script ran, and screenshots.

``require_chromium()`` returns the browser's path, or skips the test when none is installed — unless
``MAILFLOW_REQUIRE_CHROMIUM=1`` (CI), in which case a missing browser fails the test. The browser runs
with a throwaway profile and everything that could reach the network switched off; the pages under test
load nothing anyway (their Content-Security-Policy forbids it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["dump_dom", "require_chromium", "screenshot"]

REQUIRE_ENV = "MAILFLOW_REQUIRE_CHROMIUM"
TIMEOUT = 90.0
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium_path() -> str | None:
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Chromium's path; skip the test if it is missing, or fail it when ``MAILFLOW_REQUIRE_CHROMIUM=1``."""
    path = chromium_path()
    if path is not None:
        return path
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"chromium is not installed, and {REQUIRE_ENV}=1 requires it")
    pytest.skip("chromium is not installed")


def _run(page: Path, workdir: Path, *extra: str, fragment: str = "") -> subprocess.CompletedProcess[str]:
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    command = [require_chromium(), *_FLAGS, f"--user-data-dir={profile}", *extra, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        raise AssertionError(f"chromium exited with {result.returncode}:\n{result.stderr[-4000:]}")
    return result


def dump_dom(page: Path, workdir: Path, fragment: str = "") -> str:
    """The page's DOM, serialised after its scripts ran (with ``#fragment`` in the URL when given)."""
    return _run(page, workdir, "--dump-dom", fragment=fragment).stdout


def screenshot(page: Path, target: Path, width: int = 1280, height: int = 900) -> Path:
    """A PNG of the page's first screen."""
    _run(page, target.parent, f"--screenshot={target}", f"--window-size={width},{height}")
    return target
