"""The whatsapp engine: a real linked device through neonize (whatsmeow).

Runs only in a session worker (``sessions_app.worker``): one process per connection,
since neonize's Go side is not safe to share between clients. It loads no Django: what
it reports goes to its sink (the worker sends it to the runner, which stores it). neonize
can still abort its process when misused, which shapes this class:

- one lock serialises creating, stopping and calling the client: the Go-side registries
  have no locking, and start/stop racing a call kills the interpreter;
- no call reaches the client before ``ConnectedEv`` (registered and logged in), except
  pairing by code, which waits for the first QR (the socket is open by then);
- neonize runs event callbacks on its connect thread, one at a time: they only record
  and enqueue; a worker thread per session writes to the database and makes follow-up
  calls (the group sync after every connect);
- the client stays referenced until it is stopped (garbage collection would stop it).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.exceptions import Conflict, NotFound, WhatsAppFailed, WhatsAppTimedOut
from sessions_app.engines.base import EndedCallback, StateSink
from sessions_app.engines.messages import (
    MediaContent,
    MessageChange,
    MessageInfo,
    OutgoingMessage,
)
from sessions_app.engines.pictures import fit_for_whatsapp
from sessions_app.engines.types import (
    GroupInfo,
    JoinRequest,
    PairingCode,
    ParticipantResult,
    PendingJoin,
)
from sessions_app.engines.whatsapp_mapping import (
    change_from_proto,
    device_jid_text,
    enum_label,
    group_from_proto,
    jid_from_text,
    jid_text,
    join_request_from_proto,
    not_admin,
    participant_outcome,
    unencodable_event,
    whatsapp_error,
)
from sessions_app.engines.whatsapp_messages import (
    DOWNLOAD_REFUSED_RE,
    SEND_REFUSED_RE,
    download_request,
    message_from_event,
    option_digests,
    outgoing_proto,
    sent_info,
)
from sessions_app.exceptions import SessionNotConnected
from sessions_app.status import SessionStatus

logger = logging.getLogger(__name__)
# neonize warns at import that ffmpeg is missing, in every worker: the gateway builds
# its video and audio messages without it, so the warning says nothing an operator needs.
logging.getLogger("neonize.utils.ffmpeg").setLevel(logging.ERROR)

# WhatsApp shows the first QR for 60 s and each following one for 20 s; after about
# 160 s whatsmeow stops offering codes. neonize only prints that, so the timer is ours,
# and it outlasts whatsmeow's own expiry (its last code must have run out first).
QR_FIRST_LIFETIME = timedelta(seconds=60)
QR_NEXT_LIFETIME = timedelta(seconds=20)
PAIRING_WINDOW_SECONDS = 180
# whatsmeow offers codes for 60 s + 5 x 20 s after the first QR; a pair code is good only
# while that lasts, and one with less than PAIR_CODE_MIN_SECONDS left cannot be typed in.
QR_WINDOW = timedelta(seconds=160)
PAIR_CODE_MIN_SECONDS = 20
# A missed keepalive is common and whatsmeow recovers by itself: only one that lasts
# this long is recorded as a disconnection.
KEEPALIVE_GRACE_SECONDS = 30
STREAM_REPLACED = (
    "stream replaced: another client connected with this device's keys; retrying with backoff"
)
# neonize's GroupCreated is a 32-bit float: about 128 s of precision at today's epoch.
CREATED_AT_PRECISION_SECONDS = 300
# ConnectFailure reasons after which the operator must act; any other ends this attempt
# and the runner retries with backoff (whatsmeow sends ConnectFailure only for reasons it
# will not reconnect from by itself).
_PERMANENT_FAILURES = {
    "LOGGED_OUT": SessionStatus.LOGGED_OUT,
    "TEMP_BANNED": SessionStatus.BANNED,
    "MAIN_DEVICE_GONE": SessionStatus.BANNED,
    "UNKNOWN_LOGOUT": SessionStatus.BANNED,
    "CLIENT_OUTDATED": SessionStatus.FAILED,
    "BAD_USER_AGENT": SessionStatus.FAILED,
}
# whatsmeow's names for WhatsApp's 403 and 406 are old ones: WhatsApp Web calls them
# LOCKED and BANNED (whatsmeow types/events). The account is locked or banned, not
# merely unlinked: the device is gone (whatsmeow deletes it), and so is the wish to
# connect, but the number stays on the session so the operator sees which one it was.
_BANS = {
    "MAIN_DEVICE_GONE": "the account is locked by WhatsApp (403)",
    "UNKNOWN_LOGOUT": "the account is banned by WhatsApp (406)",
}
# When neonize cannot encode an event's reason (outside its enum), its event loop ends
# and connect() returns the encoding error instead (``unencodable_event``): what the
# event was is still known, only not its reason.
_UNENCODABLE = {
    "TemporaryBan": (
        SessionStatus.BANNED,
        "temporarily banned by WhatsApp (a reason neonize 0.5.2 cannot name)",
    ),
    "LoggedOut": (
        SessionStatus.LOGGED_OUT,
        "logged out by WhatsApp (a reason neonize 0.5.2 cannot name)",
    ),
}


def _created_at(info: GroupInfo) -> float:
    return info.created_at.timestamp() if info.created_at else 0.0


class WhatsAppLiveSession:
    def __init__(
        self,
        *,
        session_id: str,
        name: str,
        jid: str,
        sink: StateSink,
        on_ended: EndedCallback,
        store_location: str = "",
        device_jid: str = "",
        client_factory: Callable[[str], Any] | None = None,
    ) -> None:
        """``store_location`` is the device store, prepared by the runner (a file path, or
        a ``postgres://`` URL shared by every session); ``device_jid`` the stored device
        to use (``user:device@server``, exactly as paired), or empty for a new pairing.
        ``client_factory(store_location)`` builds the neonize client; the default is the
        real one (tests replace the WhatsApp network here, and only here)."""
        self.session_id = session_id
        self.name = name
        self.jid = jid
        self.device_jid = device_jid
        self._store_location = store_location
        self._sink = sink
        self._on_ended = on_ended
        self._client_factory = client_factory or self._neonize_client
        self._lock = threading.RLock()
        self._client: Any = None
        self._connect_thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._qr_seen = threading.Event()
        self._stopping = False
        self._terminal = False
        self._qr_count = 0
        self._qr_window_ends: datetime | None = None
        self._pairing_timer: threading.Timer | None = None
        self._keepalive_timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()
        self._work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            self._stopping = False
            self._terminal = False
            self._ensure_worker()
            self._qr_count = 0
            self._qr_seen.clear()
            self._client = self._new_client(self._store_location)
            self._register_handlers(self._client)
            # Queued before the connect thread exists, so it can never land after the
            # events that follow it.
            self._emit(
                lambda: self._sink.status(SessionStatus.CONNECTING, "connecting to WhatsApp")
            )
            self._connect_thread = threading.Thread(
                target=self._run_connect, name=f"whatsapp-{self.session_id}", daemon=True
            )
            self._connect_thread.start()

    def stop(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            if client is None:
                return
            self._stopping = True
            self._cancel_pairing_timer()
            self._cancel_keepalive_timer()
            self._connected.clear()
            client.stop()
            self._finish_worker()
            thread = self._connect_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=15)

    def _new_client(self, location: str) -> Any:
        return self._client_factory(location)

    def _neonize_client(self, location: str) -> Any:
        from neonize.client import NewClient

        if self.device_jid:
            # The device exactly as paired. The runner passes only a JID the store holds
            # (one it does not hold would abort the process).
            return NewClient(location, jid=jid_from_text(self.device_jid))
        if location.startswith(("postgres://", "postgresql://")):
            # A store shared by every session: a fresh device to pair.
            return NewClient(location, uuid=self.session_id, new_device=True)
        # One store per session: its only device, or a fresh one to pair.
        return NewClient(location, uuid=self.session_id)

    def _register_handlers(self, client: Any) -> None:
        """Event handlers, registered before connect() as neonize requires."""
        from neonize.events import (
            ClientOutdatedEv,
            ConnectedEv,
            ConnectFailureEv,
            DisconnectedEv,
            GroupInfoEv,
            JoinedGroupEv,
            KeepAliveRestoredEv,
            KeepAliveTimeoutEv,
            LoggedOutEv,
            MessageEv,
            PairStatusEv,
            StreamReplacedEv,
            TemporaryBanEv,
        )

        client.qr(self._on_qr)
        handlers = {
            PairStatusEv: self._on_pair_status,
            ConnectedEv: self._on_connected,
            DisconnectedEv: self._on_disconnected,
            KeepAliveTimeoutEv: self._on_keepalive_timeout,
            KeepAliveRestoredEv: self._on_keepalive_restored,
            LoggedOutEv: self._on_logged_out,
            StreamReplacedEv: self._on_stream_replaced,
            TemporaryBanEv: self._on_temporary_ban,
            ConnectFailureEv: self._on_connect_failure,
            ClientOutdatedEv: self._on_client_outdated,
            JoinedGroupEv: self._on_joined_group,
            GroupInfoEv: self._on_group_info,
            MessageEv: self._on_message,
        }
        for event, handler in handlers.items():
            client.event(event)(handler)

    def _run_connect(self) -> None:
        client = self._client
        failure = ""
        try:
            client.connect()
        except Exception as exc:  # NeonizeError and whatever the FFI raises
            failure = str(exc)[:300] or exc.__class__.__name__
        self._connected.clear()
        if self._stopping or self._terminal:
            return
        unencodable = unencodable_event(failure)
        if unencodable in _UNENCODABLE:
            status, why = _UNENCODABLE[unencodable]
            self._terminate(status, why, forget_device=status == SessionStatus.LOGGED_OUT)
            self._finish_worker()
            return
        if unencodable:
            # A ConnectFailure (or any other event) whose reason neonize could not encode:
            # an unknown failure. This client's event loop is over; a new worker gets a
            # new one, after the runner's backoff.
            failure = (
                f"WhatsApp refused the connection (a reason neonize 0.5.2 cannot name; {failure})"
            )
        # The ended client stays referenced (calls on it fail cleanly) until stop(); the
        # supervisor retries with a new live session.
        reason = f"connection failed: {failure}" if failure else "connection closed"
        self._emit(lambda: self._sink.status(SessionStatus.DISCONNECTED, reason))
        self._emit(lambda: self._on_ended(True))
        self._finish_worker()  # this live session is over; the runner starts a new one

    # -- event callbacks (neonize's connect thread: record and enqueue only) ----------

    def _on_qr(self, client: Any, data: bytes) -> None:
        self._qr_count += 1
        first = self._qr_count == 1
        if first:
            self._qr_window_ends = datetime.now(tz=UTC) + QR_WINDOW
            self._start_pairing_timer()
        expires_at = datetime.now(tz=UTC) + (QR_FIRST_LIFETIME if first else QR_NEXT_LIFETIME)
        code = data.decode("utf-8", errors="replace")
        self._qr_seen.set()
        self._emit(lambda: self._sink.qr(code, expires_at))

    def _on_pair_status(self, client: Any, event: Any) -> None:
        if event.Status == event.SUCCESS:
            self._cancel_pairing_timer()
            self.jid = jid_text(event.ID)
            # The device part too: reconnecting must name exactly this device.
            self.device_jid = device_jid_text(event.ID)
            device_jid = self.device_jid
            self._emit(
                lambda: self._sink.status(
                    SessionStatus.CONNECTING,
                    "paired; logging in",
                    jid=self.jid,
                    device_jid=device_jid,
                    # Set for business accounts only; ordinary ones keep what they had.
                    push_name=event.BusinessName or None,
                )
            )
        else:
            self._terminate(SessionStatus.FAILED, f"pairing failed: {event.Error}")

    def _on_connected(self, client: Any, event: Any) -> None:
        self._cancel_pairing_timer()
        # whatsmeow may reconnect after a keepalive timeout without a KeepAliveRestored.
        self._cancel_keepalive_timer()
        self._connected.set()
        self._emit(lambda: self._sink.status(SessionStatus.CONNECTED, jid=self.jid or None))
        # Stored groups are refreshed on every connect.
        self._emit(self._sync_groups)

    def _on_disconnected(self, client: Any, event: Any) -> None:
        self._cancel_keepalive_timer()  # this status says more than the timer would
        if self._stopping or self._terminal:
            return
        self._emit(
            lambda: self._sink.status(
                SessionStatus.DISCONNECTED, "connection lost; reconnecting automatically"
            )
        )

    def _on_keepalive_timeout(self, client: Any, event: Any) -> None:
        if self._stopping or self._terminal or self._keepalive_timer is not None:
            return
        timer = threading.Timer(KEEPALIVE_GRACE_SECONDS, lambda: self._keepalive_lost(timer))
        timer.daemon = True
        self._keepalive_timer = timer
        timer.start()

    def _keepalive_lost(self, timer: threading.Timer) -> None:
        """The grace ran out with no later status: recorded as a disconnection. A timer
        cancelled (by any later status) as it fired writes nothing."""
        with self._timer_lock:
            if self._keepalive_timer is not timer:
                return
            self._keepalive_timer = None
        if not (self._stopping or self._terminal):
            self._emit(
                lambda: self._sink.status(
                    SessionStatus.DISCONNECTED,
                    f"WhatsApp has not answered keepalives for {KEEPALIVE_GRACE_SECONDS} s; "
                    "reconnecting automatically",
                )
            )

    def _cancel_keepalive_timer(self) -> None:
        with self._timer_lock:
            timer, self._keepalive_timer = self._keepalive_timer, None
        if timer is not None:
            timer.cancel()

    def _on_keepalive_restored(self, client: Any, event: Any) -> None:
        self._cancel_keepalive_timer()
        self._emit(lambda: self._sink.status(SessionStatus.CONNECTED))

    def _on_logged_out(self, client: Any, event: Any) -> None:
        label = enum_label(event, "Reason") or "unknown reason"
        ban = _BANS.get(label.upper().replace(" ", "_"))
        if ban is not None:
            self._terminate(SessionStatus.BANNED, ban, forget_device=True)
            return
        self._terminate(
            SessionStatus.LOGGED_OUT, f"logged out by WhatsApp ({label})", forget_device=True
        )

    def _on_stream_replaced(self, client: Any, event: Any) -> None:
        # The gateway never runs two clients of one device (leases, and workers fenced
        # by them), so the other client is outside it, or gone by the next attempt: this
        # connection ends and the runner retries with backoff. Not terminal — a stale
        # holder must not be able to take the current one offline for good.
        self._end_attempt(STREAM_REPLACED)

    def _on_temporary_ban(self, client: Any, event: Any) -> None:
        label = enum_label(event, "Code") or "unknown reason"
        until = datetime.now(tz=UTC) + timedelta(seconds=max(event.Expire, 0))
        self._terminate(
            SessionStatus.BANNED,
            f"temporarily banned by WhatsApp ({label}) until {until:%Y-%m-%d %H:%M} UTC",
        )

    def _on_connect_failure(self, client: Any, event: Any) -> None:
        label = enum_label(event, "Reason") or "unknown reason"
        text = f"WhatsApp refused the connection ({label})"
        if event.Message:
            text += f": {event.Message}"
        key = label.upper().replace(" ", "_")
        permanent = _PERMANENT_FAILURES.get(key)
        if permanent is None:
            # whatsmeow will not reconnect after this: end the attempt, the runner retries.
            self._end_attempt(text)
        elif key in _BANS:
            self._terminate(permanent, f"{_BANS[key]}: {text}", forget_device=True)
        else:
            self._terminate(permanent, text, forget_device=permanent == SessionStatus.LOGGED_OUT)

    def _on_client_outdated(self, client: Any, event: Any) -> None:
        self._terminate(
            SessionStatus.FAILED, "WhatsApp says this client is outdated: upgrade neonize"
        )

    def _on_joined_group(self, client: Any, event: Any) -> None:
        info = group_from_proto(event.GroupInfo)
        # WhatsApp tells the creator of a new group too ("new", owned by us): that is
        # the group a create made (from the API, or the phone), announced as created.
        created = event.Type == "new" and bool(self.jid) and info.owner_jid == self.jid
        self._emit(lambda: self._sink.groups([info], complete=False, created=created))

    def _on_group_info(self, client: Any, event: Any) -> None:
        # Handled on the event worker: resolving LIDs asks the client.
        self._emit(lambda: self._apply_group_event(event))

    def _on_message(self, client: Any, event: Any) -> None:
        # Handled on the event worker: resolving LIDs and decrypting votes ask the client.
        self._emit(lambda: self._apply_message_event(event))

    # -- the worker thread ------------------------------------------------------------

    def _emit(self, work: Callable[[], None]) -> None:
        self._work.put(work)

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._work = queue.Queue()
            self._worker = threading.Thread(
                target=self._work_loop,
                args=(self._work,),
                name=f"whatsapp-events-{self.session_id}",
                daemon=True,
            )
            self._worker.start()

    def _finish_worker(self) -> None:
        """The worker ends after what is queued so far (and closes its database
        connection); it is the last item."""
        self._work.put(None)

    def _work_loop(self, work_queue: "queue.Queue[Callable[[], None] | None]") -> None:
        try:
            while (work := work_queue.get()) is not None:
                try:
                    work()
                except Exception:
                    logger.exception(
                        "session %s: handling a WhatsApp event failed", self.session_id
                    )
        finally:
            self._sink.done()

    def _terminate(self, status: str, reason: str, *, forget_device: bool = False) -> None:
        """The connection cannot continue without the operator: stop, record why."""
        self._terminal = True
        self._cancel_keepalive_timer()

        def finish() -> None:
            self.stop()
            if forget_device:
                self._sink.forget_device()
            self._sink.status(status, reason, keep_connecting=False)
            self._on_ended(False)

        self._emit(finish)

    def _end_attempt(self, reason: str) -> None:
        """This connection is over but a later one may work: stop, record why, and let
        the runner retry with backoff."""
        self._terminal = True
        self._cancel_keepalive_timer()

        def finish() -> None:
            self.stop()
            self._sink.status(SessionStatus.DISCONNECTED, reason)
            self._on_ended(True)

        self._emit(finish)

    def _start_pairing_timer(self) -> None:
        self._cancel_pairing_timer()
        timer = threading.Timer(PAIRING_WINDOW_SECONDS, self._pairing_timed_out)
        timer.daemon = True
        self._pairing_timer = timer
        timer.start()

    def _cancel_pairing_timer(self) -> None:
        timer, self._pairing_timer = self._pairing_timer, None
        if timer is not None:
            timer.cancel()

    def _pairing_timed_out(self) -> None:
        if not self._connected.is_set():
            self._terminate(
                SessionStatus.DISCONNECTED,
                f"pairing timed out: nothing scanned within {PAIRING_WINDOW_SECONDS} s; "
                "connect again for a new QR",
            )

    def _sync_groups(self) -> None:
        fetch_started = datetime.now(tz=UTC)
        try:
            infos = self.joined_groups()
        except Exception as exc:
            logger.warning("session %s: group sync failed: %s", self.session_id, exc)
            return
        self._sink.groups(infos, complete=True, fetch_started=fetch_started)

    def _apply_group_event(self, event: Any) -> None:
        """A GroupInfo event: members named by LID are resolved to their phone numbers
        (whatsmeow's LID map) and the mapping stored; what it says changed is stored at
        once; then the whole group is read again, to settle the rest. A group the account
        was removed from, or that was deleted, goes from the store (``group.left``)."""
        change = change_from_proto(event, phone_of=self._phone_of)
        if change.gone:
            self._sink.group_gone(change.jid, change.gone)
            return
        if self.jid and self.jid in change.left:
            self._sink.group_gone(change.jid, "removed")
            return
        self._sink.group_changed(change)
        self._refresh_group(change.jid)

    def _apply_message_event(self, event: Any) -> None:
        try:
            said = message_from_event(event, phone_of=self._phone_of, poll_vote=self._poll_vote)
        except Exception:
            logger.exception("session %s: a message event not understood", self.session_id)
            return
        if isinstance(said, MessageInfo):
            self._sink.message_seen(said)
        elif isinstance(said, MessageChange):
            self._sink.message_changed(said)

    def _poll_vote(self, event: Any) -> tuple[str, ...]:
        """The options of a poll vote (SHA-256 digests, hex), decrypted with the poll's
        secret from the device store; none when it cannot be (a poll from before this
        device was linked)."""
        client = self._client
        if client is None:
            return ()
        try:
            with self._lock:
                vote = client.decrypt_poll_vote(event)
        except Exception as exc:
            logger.info("session %s: a poll vote not decrypted: %s", self.session_id, exc)
            return ()
        return option_digests(list(vote.selectedOptions))

    def _phone_of(self, lid: Any) -> str:
        """The phone-number JID whatsmeow has for a LID, or '' when it has none."""
        client = self._client
        if client is None:
            return ""
        try:
            with self._lock:
                phone = client.get_pn_from_lid(lid)
        except Exception:
            return ""
        return jid_text(phone) if phone.User else ""

    def _refresh_group(self, group_jid: str) -> None:
        client = self._require_client()
        try:
            with self._lock:
                proto = client.get_group_info(jid_from_text(group_jid))
        except Exception as exc:
            if isinstance(whatsapp_error(str(exc)), NotFound):
                # Not there for the account any more: removed, or the group deleted.
                self._sink.group_gone(group_jid, "removed")
                return
            logger.info("session %s: group %s not readable: %s", self.session_id, group_jid, exc)
            return
        self._sink.groups([group_from_proto(proto)], complete=False)

    # -- live actions (the runner's request threads) ----------------------------------

    def _require_client(self) -> Any:
        client = self._client
        if client is None or not self._connected.is_set():
            raise SessionNotConnected("session is not connected to WhatsApp")
        return client

    def create_group(self, *, name: str, participants: list[str]) -> GroupInfo:

        client = self._require_client()
        members = [jid_from_text(jid) for jid in participants]
        started = time.time()
        try:
            with self._lock:
                proto = client.create_group(name, members)
        except Exception as exc:
            error = whatsapp_error(str(exc))
            if isinstance(error, WhatsAppTimedOut):
                # whatsmeow can create the group and still time out: look before the
                # caller retries, so a retry never makes a second group.
                try:
                    found = self._find_created(name, since=started - 5, stored_since=started)
                except WhatsAppTimedOut:
                    found = None  # still unknown: the caller's retry looks again
                if found is not None:
                    return found
            raise error from exc
        return group_from_proto(proto)

    def find_created_group(self, *, name: str, since: float) -> GroupInfo | None:
        self._require_client()
        return self._find_created(name, since=since, stored_since=since)

    def _find_created(self, name: str, *, since: float, stored_since: float) -> GroupInfo | None:
        """The group a timed-out create made after all, if WhatsApp lists one: same
        subject, ours, created around the call, and not a group the store already has.
        (neonize carries the creation time as a 32-bit float, precise to about two
        minutes, hence the wide window.) A group the store first held since
        ``stored_since`` (the first attempt's start) is one: WhatsApp's JoinedGroup event
        stores what a create made, answered or not. Which groups the store held before,
        the sink says. A lookup that fails leaves the
        outcome unknown (WhatsAppTimedOut), never "nothing found": that would create twice.
        """
        try:
            groups = self.joined_groups()
        except Exception as exc:
            raise WhatsAppTimedOut(
                "could not look for the group an earlier attempt may have created; "
                "the outcome is still unknown",
                details={"lookup": str(exc)[:300]},
            ) from exc
        matches = [
            info
            for info in groups
            if info.subject == name
            and info.created_at is not None
            and info.created_at.timestamp() >= since - CREATED_AT_PRECISION_SECONDS
            and (not self.jid or info.owner_jid == self.jid)
        ]
        new = self._sink.groups_not_known_before(matches, since=stored_since) if matches else []
        return max(new, key=_created_at) if new else None

    def joined_groups(self) -> list[GroupInfo]:
        client = self._require_client()
        try:
            with self._lock:
                groups = client.get_joined_groups()
        except Exception as exc:
            raise whatsapp_error(str(exc)) from exc
        return [group_from_proto(proto) for proto in groups]

    def pair_code(self, *, phone: str) -> PairingCode:
        client = self._client
        ends = self._qr_window_ends
        if client is None or self._connected.is_set() or not self._qr_seen.is_set() or not ends:
            raise Conflict("session is not pairing: connect it and wait for the QR first")
        left = (ends - datetime.now(tz=UTC)).total_seconds()
        if left < PAIR_CODE_MIN_SECONDS:
            raise Conflict(
                f"the pairing window closes in {max(0, int(left))} s, too soon to type a code; "
                "connect again when it has closed for a new window",
                details={"reason": "pairing_window_closing", "expiresAt": ends.isoformat()},
            )
        try:
            with self._lock:
                code = client.PairPhone(phone, True)
        except Exception as exc:
            raise whatsapp_error(str(exc)) from exc
        return PairingCode(code=str(code), expires_at=ends)

    def logout(self) -> None:
        client = self._require_client()
        try:
            with self._lock:
                client.logout()
        except Exception as exc:
            raise whatsapp_error(str(exc)) from exc
        self._terminal = True
        self.stop()
        self._sink.forget_device()
        self._sink.status(SessionStatus.LOGGED_OUT, "logged out by request", keep_connecting=False)
        self._on_ended(False)

    # -- group management ---------------------------------------------------------------

    def _group_call(self, call: Callable[[Any], Any]) -> Any:
        """Runs a group-management call on the client. WhatsApp's 401 and 403 mean the
        account lacks the rights (decided from its answer, not from stored roles), 404
        that the group is not there for the account; whatsmeow's own wrapped errors are
        mapped by their text (``whatsapp_mapping``)."""
        client = self._require_client()
        try:
            with self._lock:
                return call(client)
        except Exception as exc:
            error = whatsapp_error(str(exc))
            if type(error) is WhatsAppFailed:
                status = error.details.get("status")
                if status in (401, 403):
                    raise not_admin(error.details) from exc
                if status == 404:
                    raise NotFound("group not found", details=error.details) from exc
            raise error from exc

    def update_participants(
        self, *, group_jid: str, action: str, participants: list[str]
    ) -> list[ParticipantResult]:
        from neonize.utils.enum import ParticipantChange

        change = ParticipantChange(action)
        members = [jid_from_text(jid) for jid in participants]
        answered = self._group_call(
            lambda client: client.update_group_participants(
                jid_from_text(group_jid), members, change
            )
        )
        return [participant_outcome(action, member) for member in answered]

    def set_group_subject(self, *, group_jid: str, subject: str) -> None:
        self._group_call(lambda client: client.set_group_name(jid_from_text(group_jid), subject))

    def set_group_description(self, *, group_jid: str, description: str) -> None:
        # whatsmeow fills in the topic ids itself when they are empty.
        self._group_call(
            lambda client: client.set_group_topic(jid_from_text(group_jid), "", "", description)
        )

    def set_group_announce(self, *, group_jid: str, announce: bool) -> None:
        self._group_call(
            lambda client: client.set_group_announce(jid_from_text(group_jid), announce)
        )

    def set_group_locked(self, *, group_jid: str, locked: bool) -> None:
        self._group_call(lambda client: client.set_group_locked(jid_from_text(group_jid), locked))

    def group_invite_code(self, *, group_jid: str, revoke: bool) -> str:
        link = self._group_call(
            lambda client: client.get_group_invite_link(jid_from_text(group_jid), revoke=revoke)
        )
        return str(link).rsplit("/", 1)[-1]

    def leave_group(self, *, group_jid: str) -> None:
        self._group_call(lambda client: client.leave_group(jid_from_text(group_jid)))

    def set_group_picture(self, *, group_jid: str, jpeg: bytes) -> str:
        # WhatsApp refuses pictures past about 640 px: sent square and at most that.
        fitted = fit_for_whatsapp(jpeg)
        return str(
            self._group_call(
                lambda client: client.set_group_photo(jid_from_text(group_jid), fitted)
            )
        )

    def join_requests(self, *, group_jid: str) -> list[JoinRequest]:
        asking = self._group_call(
            lambda client: client.get_group_request_participants(jid_from_text(group_jid))
        )
        return [join_request_from_proto(request) for request in asking]

    def join_group(self, *, code: str) -> GroupInfo | PendingJoin:
        joined = self._group_call(lambda client: client.join_group_with_link(code))
        group_jid = jid_text(joined)
        try:
            return group_from_proto(self._group_call(lambda client: client.get_group_info(joined)))
        except NotFound:
            # WhatsApp answers an approval-required group with its JID and no error: the
            # request is filed, and the account is not a member (so cannot read it) yet.
            return PendingJoin(group_jid=group_jid)

    # -- messages -------------------------------------------------------------------------

    def _message_call(self, call: Callable[[Any], Any]) -> Any:
        """Runs a message call on the client. A send WhatsApp acknowledged with 401 or 403
        means the account may not write there (not an admin of an announce-only group);
        a download its CDN answered 403, 404 or 410 is media it no longer holds; other
        errors as for every call."""
        client = self._require_client()
        try:
            with self._lock:
                return call(client)
        except Exception as exc:
            text = str(exc)
            refused = SEND_REFUSED_RE.search(text)
            if refused and int(refused.group(1)) in (401, 403):
                raise not_admin({"whatsappError": text[:500]}) from exc
            gone = DOWNLOAD_REFUSED_RE.search(text)
            if gone and int(gone.group(1)) in (403, 404, 410):
                raise NotFound(
                    "WhatsApp no longer holds this media", details={"whatsappError": text[:500]}
                ) from exc
            error = whatsapp_error(text)
            if type(error) is WhatsAppFailed and error.details.get("status") in (401, 403):
                raise not_admin(error.details) from exc
            raise error from exc

    def send_message(self, *, message: OutgoingMessage, message_id: str) -> MessageInfo:
        # neonize 0.5.2 lets whatsmeow pick the id: ``message_id`` cannot be used.
        invite_code = ""
        if message.kind == "group_invite":
            invite_code = self.group_invite_code(group_jid=message.group_jid, revoke=False)

        def send(client: Any) -> tuple[Any, Any]:
            built = outgoing_proto(client, message, invite_code=invite_code)
            return built, client.send_message(jid_from_text(message.to), built)

        built, response = self._message_call(send)
        return sent_info(message, built, response, account=self.jid, invite_code=invite_code)

    def message_media(
        self, *, chat: str, message_id: str, download: dict[str, str]
    ) -> MediaContent:
        try:
            request = download_request(download)
        except (KeyError, ValueError) as exc:
            raise NotFound("WhatsApp gave no way to download this message's media") from exc
        data = self._message_call(lambda client: client.download_media_with_path(**request))
        mimetype = download.get("mimetype", "")
        return MediaContent(data=bytes(data), mimetype=mimetype)

    def invite_info(self, *, code: str) -> GroupInfo:
        return group_from_proto(
            self._group_call(lambda client: client.get_group_info_from_link(code))
        )
