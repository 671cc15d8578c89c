"""A session worker: one WhatsApp connection in a process of its own.

    python -m sessions_app.worker --session ID --store LOCATION [--name N] [--jid J]
        [--device-jid D] --parent PID

neonize cannot be shared: its Go side keeps process-global maps without locks (two
clients in one process abort it), and a dropped client's finalizer stops whichever client
later reuses its name. So the runner starts one of these per ``whatsapp`` session (the
session id is on the command line, for ``ps``). It loads no Django and writes no table:
it holds one ``WhatsAppLiveSession`` and speaks JSON lines with its runner.

Runner → worker, on stdin:
    {"op": "call", "id": 7, "action": "create_group", "payload": {...}, "known_jids": [...]}
    {"op": "lease", "hold_for": 9.8}   the runner renewed its lease (see "Fencing")
    {"op": "stop"}
Worker → runner, on the protocol pipe (its original stdout; fd 1 is pointed at stderr,
so nothing neonize prints can corrupt the protocol):
    {"op": "result", "id": 7, "result": {...}}  /  {"op": "error", "id": 7, "error": {...}}
    {"op": "status" | "qr" | "groups" | "group_changed" | "group_gone" | "message_seen" |
    "message_changed" | "forget_device",
     ...}   what the session reports
    {"op": "ended", "retry": true}   this connection is over; the process exits after it

Calls are rows of the live-action registry (``sessions_app.registry``): the worker runs
the row's ``run`` on its engine, exactly as an in-process runner would. It exits when its
connection ends, when told to stop, when stdin closes, or — through the kernel
(``PR_SET_PDEATHSIG``) — when its runner dies, even by ``kill -9``.

Fencing: two clients on one device make WhatsApp replace one stream with the other, so a
worker of a runner that has lost its lease must not stay connected. A runner that is
paused (SIGSTOP, a frozen VM) cannot stop its workers, so each worker of a fleet runner
(started with ``--hold-for``) stops itself: it may hold the connection only for the
seconds its runner last granted (on the command line, then with every lease renewal).
The grant ends well before the lease itself does (a third of a lease earlier), and a
worker whose grant runs out disconnects and exits at once, so by the time another runner
can claim the lease, this worker is gone.
"""

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
import time
import traceback
from datetime import datetime
from typing import IO, NoReturn

# Registers the group actions with the registry (no app registry here to do it).
import groups_app.registry  # noqa: F401
from gateway.exceptions import GatewayError, InvalidInput
from sessions_app.engines.base import LiveSession
from sessions_app.engines.messages import MessageChange, MessageInfo
from sessions_app.engines.types import GroupChange, GroupInfo
from sessions_app.registry import action_named
from sessions_app.worker_protocol import CallMessage, ErrorWire, FromWorker

STOP_GRACE_SECONDS = 3.0
# A worker whose lease grant ran out leaves faster: another runner may claim it soon.
FENCE_STOP_GRACE_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1
LEASE_EXPIRED = (
    "the runner did not confirm its lease in time; disconnected so that no other "
    "runner's connection to this device is replaced"
)


class Channel:
    """JSON lines to the runner, one writer at a time."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: FromWorker) -> None:
        line = json.dumps(message, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                os._exit(0)  # the runner is gone


class WorkerSink:
    """The engine's sink in a worker: every report becomes a line to the runner. What the
    store held before the call's moment arrives with each call (``known_jids``), per
    calling thread."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._known = threading.local()

    def know(self, jids: list[str]) -> None:
        self._known.jids = set(jids)

    def status(
        self,
        status: str,
        reason: str = "",
        *,
        jid: str | None = None,
        device_jid: str | None = None,
        push_name: str | None = None,
        keep_connecting: bool = True,
    ) -> None:
        self._channel.send(
            {
                "op": "status",
                "status": str(status),
                "reason": reason,
                "jid": jid,
                "device_jid": device_jid,
                "push_name": push_name,
                "keep_connecting": keep_connecting,
            }
        )

    def qr(self, code: str, expires_at: datetime) -> None:
        self._channel.send({"op": "qr", "code": code, "expires_at": expires_at.isoformat()})

    def groups(
        self,
        infos: list[GroupInfo],
        *,
        complete: bool,
        fetch_started: datetime | None = None,
        created: bool = False,
    ) -> None:
        self._channel.send(
            {
                "op": "groups",
                "infos": [info.to_dict() for info in infos],
                "complete": complete,
                "fetch_started": fetch_started.isoformat() if fetch_started else None,
                "created": created,
            }
        )

    def group_changed(self, change: GroupChange) -> None:
        self._channel.send({"op": "group_changed", "change": change.to_dict()})

    def group_gone(self, group_jid: str, reason: str) -> None:
        self._channel.send({"op": "group_gone", "group_jid": group_jid, "reason": reason})

    def message_seen(self, info: MessageInfo) -> None:
        self._channel.send({"op": "message_seen", "message": info.to_dict()})

    def message_changed(self, change: MessageChange) -> None:
        self._channel.send({"op": "message_changed", "change": change.to_dict()})

    def stored_groups(self) -> list[GroupInfo]:
        raise NotImplementedError("only the sandbox reads the store as its WhatsApp")

    def groups_not_known_before(self, infos: list[GroupInfo], *, since: float) -> list[GroupInfo]:
        # The runner sent, with this call, the groups stored before the call's "since".
        known: set[str] = getattr(self._known, "jids", set())
        return [info for info in infos if info.jid not in known]

    def stored_invite_code(self, group_jid: str) -> str:
        raise NotImplementedError("only the sandbox reads the store as its WhatsApp")

    def group_by_invite_code(self, code: str) -> GroupInfo | None:
        raise NotImplementedError("only the sandbox reads the store as its WhatsApp")

    def forget_device(self) -> None:
        self._channel.send({"op": "forget_device"})

    def done(self) -> None:
        return None


class _Target:
    """A registry row's view of the session, inside the worker."""

    def __init__(self, session_id: str, live: LiveSession) -> None:
        self.session_id = session_id
        self._live = live

    def live(self) -> LiveSession:
        return self._live

    def connect(self) -> None:
        raise InvalidInput(details={"action": ["connecting is the runner's, not a worker's"]})

    def release(self) -> None:
        raise InvalidInput(details={"action": ["releasing is the runner's, not a worker's"]})


def error_wire(exc: BaseException) -> ErrorWire:
    if isinstance(exc, GatewayError):
        return {
            "code": exc.code,
            "message": exc.message,
            "details": exc.details,
            "retry_after": exc.retry_after,
        }
    return {"code": "internal_error", "message": "internal error in the session worker"}


class Fence:
    """Until when this worker may hold its connection (``time.monotonic``)."""

    def __init__(self, hold_for: float) -> None:
        self._lock = threading.Lock()
        self._until = time.monotonic() + hold_for

    def grant(self, hold_for: float) -> None:
        with self._lock:
            self._until = time.monotonic() + hold_for

    def remaining(self) -> float:
        with self._lock:
            return self._until - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


class Worker:
    def __init__(self, args: argparse.Namespace, channel: Channel) -> None:
        from sessions_app.engines.whatsapp import WhatsAppLiveSession

        self.session_id = args.session
        self.channel = channel
        self.sink = WorkerSink(channel)
        self.finished = threading.Event()
        self.live = WhatsAppLiveSession(
            session_id=args.session,
            name=args.name,
            jid=args.jid,
            device_jid=args.device_jid,
            store_location=args.store,
            sink=self.sink,
            on_ended=self._ended,
        )
        self.target = _Target(args.session, self.live)
        self.fence = Fence(args.hold_for) if args.hold_for is not None else None
        self._stop_grace = STOP_GRACE_SECONDS
        self._ended_lock = threading.Lock()
        self._ended_sent = False

    def _ended(self, retry: bool) -> None:
        with self._ended_lock:
            if self._ended_sent:
                return  # one connection, one end
            self._ended_sent = True
        self.channel.send({"op": "ended", "retry": retry})
        self.finished.set()

    def run(self, commands: IO[str]) -> None:
        if self.fence is not None and self.fence.expired():
            self._fenced_out()
            self._exit()
        self.live.start()
        reader = threading.Thread(target=self._read, args=(commands,), daemon=True)
        reader.start()
        if self.fence is not None:
            threading.Thread(target=self._watch_fence, args=(self.fence,), daemon=True).start()
        self.finished.wait()
        self._exit()

    def _watch_fence(self, fence: Fence) -> None:
        while not self.finished.is_set():
            if fence.expired():
                self._fenced_out()
                return
            self.finished.wait(min(fence.remaining(), 0.5))

    def _fenced_out(self) -> None:
        """The lease grant ran out: leave now, and tell the runner (if it listens)."""
        print(f"session {self.session_id}: {LEASE_EXPIRED}", file=sys.stderr)
        self._stop_grace = FENCE_STOP_GRACE_SECONDS
        self.sink.status("disconnected", LEASE_EXPIRED)
        self._ended(True)

    def _read(self, commands: IO[str]) -> None:
        for line in commands:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("op") == "stop":
                break
            if message.get("op") == "lease" and self.fence is not None:
                self.fence.grant(float(message.get("hold_for") or 0))
            elif message.get("op") == "call":
                threading.Thread(target=self._call, args=(message,), daemon=True).start()
        self.finished.set()  # told to stop, or the runner closed our stdin

    def _call(self, message: CallMessage) -> None:
        call_id = message.get("id")
        try:
            spec = action_named(str(message.get("action")))
            if spec is None:
                raise InvalidInput(details={"action": ["unknown action"]})
            payload = spec.payload.from_wire(message.get("payload") or {})
            self.sink.know([str(jid) for jid in message.get("known_jids") or []])
            result = spec.result_to_wire(spec.run(self.target, payload))
        except GatewayError as exc:
            self.channel.send({"op": "error", "id": call_id, "error": error_wire(exc)})
            return
        except Exception as exc:
            # A bug, or the library failing in a way it has no error for: the caller gets
            # the envelope's internal error, the operator the traceback (stderr is the
            # runner's log).
            print(
                f"session {self.session_id}: action {message.get('action')!r} failed",
                file=sys.stderr,
            )
            traceback.print_exc(file=sys.stderr)
            self.channel.send({"op": "error", "id": call_id, "error": error_wire(exc)})
            return
        self.channel.send({"op": "result", "id": call_id, "result": result})

    def _exit(self) -> NoReturn:
        """Stop the client if it lets us within a few seconds, then leave regardless:
        neonize's connect thread is not a daemon and its QR loop never ends on a stop."""
        stopper = threading.Thread(target=self.live.stop, daemon=True)
        stopper.start()
        stopper.join(self._stop_grace)
        sys.stderr.flush()
        os._exit(0)


def _die_with_parent(parent: int) -> None:
    """Killed by the kernel when the runner dies, however it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: stdin closing still ends us
    if os.getppid() != parent:
        os._exit(0)  # the runner died before we could ask


def _protocol_stream() -> IO[str]:
    """The protocol gets the original stdout; fd 1 then points at stderr, so anything
    printed by neonize or Go lands in the log, never in the protocol."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="One WhatsApp session's worker.")
    parser.add_argument("--session", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--name", default="")
    parser.add_argument("--jid", default="")
    parser.add_argument("--device-jid", default="")
    parser.add_argument(
        "--hold-for",
        type=float,
        default=None,
        help="seconds this worker may hold the connection unless its runner renews them",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    _die_with_parent(args.parent)
    # Ctrl-C in a terminal reaches the whole process group: the runner decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = Channel(_protocol_stream())
    worker = Worker(args, channel)
    signal.signal(signal.SIGTERM, lambda signum, frame: worker.finished.set())
    worker.run(sys.stdin)


if __name__ == "__main__":
    main()
