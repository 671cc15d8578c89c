"""A webhook receiver on loopback for tests: records what arrives, answers as told."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    # Statuses to answer, in order; then 200.
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    # Seconds between bytes of an answer that never ends (0: answer at once).
    trickle: float = 0.0
    # Requests being answered now, and the most at once.
    answering: int = 0
    most_answering: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [headers["webhook-id"] for headers, _ in self.received]


@contextmanager
def receiving() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender died between the headers and the end of the body: like any
                # HTTP server, drop the half request; it was never received.
                self.close_connection = True
                return
            if state.trickle:
                self._trickle(body)
                return
            if state.delay:
                threading.Event().wait(state.delay)
            with state.lock:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def _trickle(self, body: bytes) -> None:
            with state.lock:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                state.answering += 1
                state.most_answering = max(state.most_answering, state.answering)
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                self.wfile.flush()
                for _ in range(100_000):
                    threading.Event().wait(state.trickle)
                    self.wfile.write(b".")
                    self.wfile.flush()
            except OSError:
                pass  # the sender gave up
            finally:
                with state.lock:
                    state.answering -= 1
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
