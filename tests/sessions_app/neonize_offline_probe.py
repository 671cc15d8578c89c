"""Drives the whatsapp engine on the real neonize library, offline, in its own process.

Run by test_neonize_offline.py (neonize can abort an interpreter, so never in pytest's).
Arguments: the ids of four whatsapp sessions in the test database. Prints one JSON
object with what it observed; the test reads the database for the rest.
"""

import ctypes
import json
import sys
import time

import django

django.setup()

from neonize.events import (  # noqa: E402
    EVENT_TO_INT,
    ConnectedEv,
    GroupInfoEv,
    JoinedGroupEv,
    LoggedOutEv,
    PairStatusEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import (  # noqa: E402
    JID,
    ConnectFailureReason,
    GroupAnnounce,
    GroupInfo,
    GroupLocked,
    GroupName,
    GroupParticipant,
    GroupTopic,
)

from sessions_app import device_store  # noqa: E402
from sessions_app.engines.whatsapp import WhatsAppLiveSession  # noqa: E402
from sessions_app.models import SessionStatus, WhatsAppSession  # noqa: E402
from sessions_app.runner.sink import DatabaseSink  # noqa: E402
from sessions_app.runner.supervisor import Supervisor  # noqa: E402
from tests.processes import wait_for  # noqa: E402
from tests.sessions_app.fake_whatsapp import complete  # noqa: E402


def status(session_id: str) -> str:
    return WhatsAppSession.objects.get(pk=session_id).status


def reason(session_id: str) -> str:
    return WhatsAppSession.objects.get(pk=session_id).status_reason


def inject(client, event) -> None:
    """Through neonize's own dispatcher, as the Go side delivers events."""
    data = complete(event).SerializeToString()
    buffer = ctypes.create_string_buffer(data, len(data))
    client.event.execute(b"x", ctypes.addressof(buffer), len(data), EVENT_TO_INT[type(event)])


def jid(user: str, server: str = "s.whatsapp.net") -> JID:
    return JID(User=user, Server=server, RawAgent=0, Device=0, Integrator=0, IsEmpty=False)


def offline_live_session(session_id: str) -> tuple[WhatsAppLiveSession, object]:
    """A live session whose real dial has failed (no network here): the client is
    registered on the Go side, so events and calls on it are safe."""
    ended: list[bool] = []
    live = WhatsAppLiveSession(
        session_id=session_id,
        name="probe",
        jid="",
        sink=DatabaseSink(session_id),
        on_ended=ended.append,
        store_location=device_store.prepare(session_id),  # as the runner prepares it
    )
    live.start()
    wait_for(lambda: ended == [True], f"{session_id}: the dial to fail")
    # The failed dial ended the session's event worker (the runner would start a new live
    # session); open it again so the events injected below are handled.
    live._ensure_worker()
    return live, live._client


def main() -> None:
    dial, events, replaced, banned = sys.argv[1:5]
    report: dict[str, object] = {}

    # 1. Dial failure through the supervisor: disconnected with the reason, retry planned.
    supervisor = Supervisor()
    supervisor.start(dial)
    wait_for(lambda: supervisor.retry_at(dial) is not None, "the retry to be scheduled")
    report["retry_in"] = round(supervisor.retry_at(dial) - time.monotonic())
    supervisor.stop_all(record=False)

    # 2. Pairing, connecting, a joined group, then a logout — injected events.
    live, client = offline_live_session(events)
    inject(client, PairStatusEv(ID=jid("15550001111"), Status=PairStatusEv.SUCCESS))
    wait_for(lambda: WhatsAppSession.objects.get(pk=events).jid != "", "the paired jid")
    inject(client, ConnectedEv(status=True))
    wait_for(lambda: status(events) == SessionStatus.CONNECTED, "connected")
    group = GroupInfo(
        JID=jid("120363000000000099", "g.us"),
        OwnerJID=jid("15550001111"),
        GroupName=GroupName(Name="Injected"),
        GroupCreated=time.time(),
        Participants=[
            GroupParticipant(JID=jid("15550001111"), IsAdmin=True, IsSuperAdmin=True),
            GroupParticipant(JID=jid("15551230001")),
            GroupParticipant(JID=jid("15551230002"), Error=403),
        ],
    )
    inject(client, JoinedGroupEv(GroupInfo=group))
    from groups_app.models import Group

    wait_for(lambda: Group.objects.filter(jid="120363000000000099@g.us").exists(), "the group")
    # A group event: what it says changed is stored without asking WhatsApp.
    change = GroupInfoEv(
        JID=jid("120363000000000099", "g.us"),
        Name=GroupName(Name="Renamed"),
        Topic=GroupTopic(Topic="About us"),
        Announce=GroupAnnounce(IsAnnounce=True),
        Locked=GroupLocked(isLocked=True),
        Join=[jid("15551230005")],
        Leave=[jid("15551230001")],
        Promote=[jid("15551230005")],
    )
    inject(client, change)
    wait_for(
        lambda: Group.objects.filter(jid="120363000000000099@g.us", subject="Renamed").exists(),
        "the group event to be applied",
    )
    # The sync that followed ConnectedEv met a socket that is not there, and said so.
    try:
        live.joined_groups()
    except Exception as exc:
        report["call_on_dead_socket"] = type(exc).__name__
    inject(client, LoggedOutEv(Reason=ConnectFailureReason.Value("LOGGED_OUT")))
    wait_for(lambda: status(events) == SessionStatus.LOGGED_OUT, "logged out")

    # 3. Stream replaced: the attempt ends, retried with backoff. 4. Temporary ban:
    # terminal. Each on its own session.
    _, client = offline_live_session(replaced)
    inject(client, StreamReplacedEv())
    wait_for(lambda: "stream replaced" in reason(replaced), "stream replaced")
    _, client = offline_live_session(banned)
    inject(client, TemporaryBanEv(Code=TemporaryBanEv.CREATED_TOO_MANY_GROUPS, Expire=7200))
    wait_for(lambda: status(banned) == SessionStatus.BANNED, "banned")

    report["finished"] = True
    print(json.dumps(report))


if __name__ == "__main__":
    main()
