"""Run a manage.py command in a child process, as an operator would in a terminal."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python manage.py <args>`` with the test settings and ``env`` on top; output captured as text."""
    # Warnings off: other packages' deprecation notices on stderr aren't what the tests read there.
    child_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coachhub.settings.test",
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released, so no one else holds it just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def error_lines(stderr: str) -> list[str]:
    """The command's own error lines (Django prints a CommandError as one "CommandError: …" line);
    import-time warnings from third-party packages are not the command's output."""
    return [line for line in stderr.splitlines() if line.startswith("CommandError")]
