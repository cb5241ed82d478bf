"""Starts panva's `oidc-provider` (npm, installed on first use into the test-tools cache) with Node
on a loopback port, as the identity provider of OpenID Connect tests."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

OIDC_PROVIDER_VERSION = "9.13.3"
TOOLS_DIR = Path(os.environ.get("COACHHUB_TEST_TOOLS", Path.home() / ".cache" / "coachhub-test-tools")) / "oidc-provider"
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")


def _installed() -> bool:
    package = TOOLS_DIR / "node_modules" / "oidc-provider" / "package.json"
    return package.exists() and json.loads(package.read_text()).get("version") == OIDC_PROVIDER_VERSION


def install_oidc_provider() -> Path:
    if not _installed():
        TOOLS_DIR.mkdir(parents=True, exist_ok=True)
        with open(TOOLS_DIR / ".install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _installed():
                npm = shutil.which("npm")
                if npm is None:
                    pytest.fail("OpenID Connect tests need Node.js and npm: apt-get install nodejs npm")
                (TOOLS_DIR / "package.json").write_text('{"name": "coachhub-oidc-peer", "private": true, "type": "module"}')
                subprocess.run(
                    [npm, "install", "--prefix", str(TOOLS_DIR), f"oidc-provider@{OIDC_PROVIDER_VERSION}",
                     "--no-audit", "--no-fund", "--loglevel=error"],
                    check=True,
                )
    return TOOLS_DIR


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def oidc_provider(*, client_id: str, client_secret: str, redirect_uri: str, accounts: dict):
    """Yields the issuer URL of a running provider; stops it afterwards."""
    tools = install_oidc_provider()
    port = _free_port()
    script = tools / "oidc_provider.mjs"  # next to its node_modules, so `import 'oidc-provider'` resolves
    script.write_text(SCRIPT.read_text())
    env = {**os.environ, "PORT": str(port), "CLIENT_ID": client_id, "CLIENT_SECRET": client_secret,
           "REDIRECT_URI": redirect_uri, "ACCOUNTS": json.dumps(accounts), "NODE_ENV": "test"}
    process = subprocess.Popen(["node", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:
            if line.startswith("READY "):
                break
        else:
            pytest.fail("oidc-provider exited before it was ready")
        # Keep reading its log so a chatty provider never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
