"""CoachHub's ASGI application served by uvicorn, as production serves it, inside the test process.

Django's live server is WSGI: it reads a streamed reply's async generator to the end before sending
a byte, so a browser test against it can't see tokens arrive. This serves the same application
through uvicorn on a loopback port, in a thread of the test process, so it shares the test
database (and its settings) the way Django's live server does. Static files are served as the live
server serves them.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class AsgiServer:
    def __init__(self, **uvicorn_options) -> None:
        """`uvicorn_options` go to uvicorn.Config as is (e.g. proxy_headers, forwarded_allow_ips)."""
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            ASGIStaticFilesHandler(get_asgi_application()), log_level="warning", lifespan="off", loop="asyncio",
            **uvicorn_options,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="asgi-test-server", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()
        return f"http://{host}:{port}"

    def start(self) -> AsgiServer:
        self._thread.start()
        # Generous: starting costs milliseconds when quiet, but a loaded CI runner can starve the thread.
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> AsgiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
