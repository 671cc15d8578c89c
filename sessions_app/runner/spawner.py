"""Every session worker is forked from one thread that lives as long as the runner.

A worker asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``), so that
no worker outlives a runner killed with ``kill -9``. The kernel sends that signal when
the *thread* that forked the child exits, not when the process does: a worker started
from a short-lived thread — an HTTP handler's, for a live call that starts a session —
would be killed as soon as that keep-alive connection closed. So no thread but this one
ever starts a worker: ``spawn`` hands the ``Popen`` to it and waits for the result.
"""

import queue
import subprocess
import threading
from concurrent.futures import Future
from typing import Any

_Request = tuple[list[str], dict[str, Any], "Future[subprocess.Popen[str]]"]


class Spawner:
    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="worker-spawner", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        while True:
            command, options, future = self._requests.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                # The command is the runner's own: this interpreter, our module, our ids.
                future.set_result(subprocess.Popen(command, **options))  # noqa: S603
            except BaseException as exc:  # e.g. OSError: too many open files
                future.set_exception(exc)

    def popen(self, command: list[str], **options: Any) -> "subprocess.Popen[str]":
        """``subprocess.Popen(command, **options)``, run on the spawner thread."""
        self._ensure_thread()
        future: Future[subprocess.Popen[str]] = Future()
        self._requests.put((command, options, future))
        return future.result()


SPAWNER = Spawner()


def spawn(command: list[str], **options: Any) -> "subprocess.Popen[str]":
    return SPAWNER.popen(command, **options)
