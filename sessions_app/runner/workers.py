"""The runner's side of a session worker (``sessions_app.worker``): a live session whose
engine runs in a child process.

``WorkerSession`` starts the process, forwards live actions to it as registry calls, and
hands what it reports to the runner's sink (the database). When the process dies — a Go
abort, ``kill -9``, out of memory — only this session is affected: calls in flight
answer 504 (the worker may have acted), the death and its cause go into the session's
status, and the supervisor restarts it with backoff like any failed connection. A
session waiting to retry holds no process.
"""

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from gateway.exceptions import WhatsAppTimedOut, error_for_code
from sessions_app.engines.base import EndedCallback, StateSink
from sessions_app.engines.messages import MessageChange, MessageInfo
from sessions_app.engines.types import (
    GroupChange,
    GroupInfo,
)
from sessions_app.exceptions import SessionNotConnected
from sessions_app.registry import Wire
from sessions_app.runner.spawner import spawn
from sessions_app.status import SessionStatus
from sessions_app.worker_protocol import CallMessage, ErrorWire, FromWorker, ToWorker

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
STOP_WAIT_SECONDS = 5.0
# A call waits this much longer than its own timeout for the worker to answer.
CALL_MARGIN_SECONDS = 5.0


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Wire | None = None
        self.error: ErrorWire | None = None


class WorkerSession:
    """A ``LiveSession`` whose engine is a worker process (``remote = True``): it has the
    lifecycle only, and the supervisor forwards every registry row to it with ``call``,
    whatever the action."""

    remote = True

    def __init__(
        self,
        *,
        session_id: str,
        name: str,
        jid: str,
        device_jid: str,
        store_location: str,
        sink: StateSink,
        on_ended: EndedCallback,
        lease_hold: Callable[[], float] | None = None,
    ) -> None:
        """``lease_hold`` (a runner of the fleet): how many seconds from now the worker
        may hold the connection on the strength of the runner's lease. The worker is
        told again at every renewal (``confirm_lease``) and disconnects and exits when
        it has not been told in time (``sessions_app.worker``)."""
        self.session_id = session_id
        self._lease_hold = lease_hold
        self._command = [
            sys.executable,
            "-m",
            "sessions_app.worker",
            "--session",
            session_id,
            "--store",
            store_location,
            "--parent",
            str(os.getpid()),
            "--name",
            name,
            "--jid",
            jid,
            "--device-jid",
            device_jid,
        ]
        self._sink = sink
        self._on_ended = on_ended
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._connected = False
        self._stopping = False
        self._ended = False
        self._exited_flag = False

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def exited(self) -> bool:
        """The process has ended and been reaped (or was never started): nothing of this
        session's connection is left running."""
        process = self._process
        return process is None or process.poll() is not None

    def start(self) -> None:
        if self._process is not None:
            return
        command = list(self._command)
        if self._lease_hold is not None:
            command += ["--hold-for", f"{self._lease_hold():.3f}"]
        # From the spawner's thread: the worker's parent-death signal follows the thread
        # that forked it (sessions_app/runner/spawner.py).
        self._process = spawn(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        stdout = self._process.stdout
        if stdout is None:
            raise RuntimeError("the worker has no output pipe")
        self._reader = threading.Thread(
            target=self._read,
            args=(stdout,),
            name=f"worker-{self.session_id}",
            daemon=True,
        )
        self._reader.start()
        logger.info("session %s: worker started (pid %d)", self.session_id, self._process.pid)

    def stop(self) -> None:
        """Ends the worker: asked to stop, then killed if it has not gone in 5 s. Returns
        once the process has exited and been reaped, whoever else is stopping it too, and
        also when the worker had ended its connection by itself and is still leaving."""
        process = self._process
        if process is None:
            return
        with self._write_lock:
            first = not self._stopping
            self._stopping = True
        self._connected = False
        if first:
            self._send({"op": "stop"})
        try:
            process.wait(timeout=STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning("session %s: worker did not stop; killing it", self.session_id)
            process.kill()
            process.wait(timeout=STOP_WAIT_SECONDS)
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=STOP_WAIT_SECONDS)

    def confirm_lease(self) -> None:
        """The runner renewed its lease: the worker may hold on that much longer."""
        if self._lease_hold is not None and not self._stopping:
            self._send({"op": "lease", "hold_for": round(self._lease_hold(), 3)})

    # -- live actions -------------------------------------------------------------------

    def call(self, action: str, payload: Wire, *, known_jids: list[str], timeout: float) -> Wire:
        """Runs a registry row in the worker and returns its wire result (or raises the
        domain error it answered with)."""
        call_id = next(self._ids)
        pending = _Pending()
        # Registered first: a worker that exits from here on fails it (``_exited``).
        self._pending[call_id] = pending
        if self._process is None or self._exited_flag or self._stopping:
            self._pending.pop(call_id, None)
            raise SessionNotConnected("session is not connected to WhatsApp")
        message: CallMessage = {
            "op": "call",
            "id": call_id,
            "action": action,
            "payload": payload,
            "known_jids": known_jids,
        }
        try:
            if not self._send(message):
                raise self._lost()
            if not pending.done.wait(timeout + CALL_MARGIN_SECONDS):
                raise WhatsAppTimedOut(details={"worker": "no answer in time"})
        finally:
            self._pending.pop(call_id, None)
        if pending.error is not None:
            error = pending.error
            raised = error_for_code(
                str(error.get("code") or "internal_error"),
                str(error.get("message") or "the session worker failed"),
                details=error.get("details") if isinstance(error.get("details"), dict) else None,
            )
            if isinstance(error.get("retry_after"), int):
                raised.retry_after = error["retry_after"]
            raise raised
        return pending.result or {}

    def _lost(self) -> WhatsAppTimedOut:
        return WhatsAppTimedOut(
            "the session worker stopped during the action; the outcome is unknown",
            details={"worker": "exited"},
        )

    # -- the worker's side of the pipe ----------------------------------------------------

    def _send(self, message: ToWorker) -> bool:
        process = self._process
        if process is None or process.stdin is None:
            return False
        with self._write_lock:
            try:
                process.stdin.write(json.dumps(message, separators=(",", ":")) + "\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                try:
                    # The worker's own messages (sessions_app.worker_protocol).
                    self._dispatch(cast(FromWorker, message))
                except Exception:
                    logger.exception("session %s: handling a worker report failed", self.session_id)
            self._exited()
        finally:
            self._sink.done()

    def _dispatch(self, message: FromWorker) -> None:
        if message["op"] == "result" or message["op"] == "error":
            pending = self._pending.get(int(message.get("id") or 0))
            if pending is not None:
                if message["op"] == "error":
                    pending.error = message["error"]
                else:
                    pending.result = message["result"]
                pending.done.set()
        elif message["op"] == "status":
            status = str(message["status"])
            self._connected = status == SessionStatus.CONNECTED
            self._sink.status(
                status,
                str(message.get("reason") or ""),
                jid=message.get("jid"),
                device_jid=message.get("device_jid"),
                push_name=message.get("push_name"),
                keep_connecting=bool(message.get("keep_connecting", True)),
            )
        elif message["op"] == "qr":
            self._sink.qr(str(message["code"]), datetime.fromisoformat(message["expires_at"]))
        elif message["op"] == "groups":
            started = message.get("fetch_started")
            self._sink.groups(
                [GroupInfo.from_dict(info) for info in message.get("infos") or []],
                complete=bool(message.get("complete")),
                fetch_started=datetime.fromisoformat(started) if started else None,
                created=bool(message.get("created")),
            )
        elif message["op"] == "group_changed":
            self._sink.group_changed(GroupChange.from_dict(message["change"]))
        elif message["op"] == "group_gone":
            self._sink.group_gone(str(message["group_jid"]), str(message.get("reason") or ""))
        elif message["op"] == "message_seen":
            self._sink.message_seen(MessageInfo.from_dict(message["message"]))
        elif message["op"] == "message_changed":
            self._sink.message_changed(MessageChange.from_dict(message["change"]))
        elif message["op"] == "forget_device":
            self._sink.forget_device()
        elif message["op"] == "ended":
            self._ended = True
            self._connected = False
            self._on_ended(bool(message.get("retry")))

    def _exited(self) -> None:
        """The worker's output ended: it exited (or was killed)."""
        process = self._process
        returncode = process.wait() if process is not None else 0
        self._exited_flag = True
        self._connected = False
        for pending in list(self._pending.values()):
            pending.error = {
                "code": "whatsapp_timeout",
                "message": "the session worker stopped during the action; the outcome is unknown",
                "details": {"worker": describe_exit(returncode)},
            }
            pending.done.set()
        if self._stopping or self._ended:
            return
        how = describe_exit(returncode)
        logger.warning("session %s: worker died (%s)", self.session_id, how)
        self._sink.status(
            SessionStatus.DISCONNECTED,
            f"the session worker died ({how}); restarting it with backoff",
        )
        self._on_ended(True)


def as_remote(live: Any) -> WorkerSession | None:
    return live if getattr(live, "remote", False) else None
