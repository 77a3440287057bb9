"""What the browser tests share: the system Chromium (driven by Playwright, which downloads no
browser of its own), a free localhost port, stopping a server, and where screenshots go."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT_S = 30  # every wait in the browser and for a server is bounded by this


def chromium_or_skip(test: str) -> str:
    """The system Chromium's path; skip (outside CI) or fail (in CI) when it or playwright is missing."""
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "PyPI package 'playwright' (pip install playwright)"
    else:
        missing = None if chromium else "a Chromium browser (apt-get install chromium)"
    if missing:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"CI needs {missing} for the {test}")
        pytest.skip(f"needs {missing}")
    return chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen, term_wait: float = 15, kill_wait: float = 10) -> None:
    """SIGTERM, then SIGKILL, the process group that ``start_new_session`` gave a server, nothing else."""
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, kill_wait)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
