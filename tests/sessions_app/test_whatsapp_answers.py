"""What real WhatsApp answers, as neonize 0.5.2 (whatsmeow 20260921) hands it over: the
shapes, the error texts and the event orders a review of the library found, each on the
whatsapp engine with neonize's own protobufs (the network faked at the client)."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import neonize
import pytest
from neonize.events import (
    ConnectedEv,
    GroupInfoEv,
    JoinedGroupEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
)
from neonize.proto.Neonize_pb2 import ConnectFailureReason, GroupDelete

from gateway.exceptions import Conflict, InvalidInput, NotFound
from groups_app.models import Group
from groups_app.store import group_store
from sessions_app import device_store
from sessions_app.engines import whatsapp as whatsapp_engine
from sessions_app.engines.whatsapp_mapping import (
    GROUP_NOT_FOUND,
    INVALID_IMAGE,
    INVITE_INVALID,
    INVITE_REVOKED,
    INVITE_UNAUTHORIZED,
    NOT_IN_GROUP,
    group_from_proto,
    whatsapp_error,
)
from sessions_app.models import Engine, SessionStatus
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error
from tests.pictures import jpeg, size_of
from tests.processes import ROOT, database_url, process_env, wait_for
from tests.sessions_app.fake_engine import live_on, pairing, reload, reports_written
from tests.sessions_app.fake_whatsapp import (
    OWN,
    REQUESTED_AT_MICROS,
    FakeNeonizeClient,
    group_proto,
    jid,
)
from webhooks_app.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

GROUP_USER = "120363000000000088"
GROUP = f"{GROUP_USER}@g.us"
OWN_JID = f"{OWN}@s.whatsapp.net"
ALICE = "15551230001@s.whatsapp.net"
NEONIZE_LIBRARY = next(Path(neonize.__file__).parent.glob("neonize-linux-*.so"), None)


@pytest.fixture
def whatsapp_session(db, settings):
    """A linked whatsapp session (its own number known), not yet connected here."""
    settings.GATEWAY_DEVICE_STORE = "sqlite"
    return WhatsAppSessionFactory(
        engine=Engine.WHATSAPP, fresh=True, desired_connected=True, jid=OWN_JID
    )


@pytest.fixture
def every_event(whatsapp_session):
    """An endpoint that wants every event: the outbox records each one."""
    return WebhookEndpoint.objects.create(
        organization=whatsapp_session.organization,
        url="https://receiver.example/hook",
        events=["*"],
        secret="whsec_dGVzdA==",
    )


def events(kind: str) -> list[dict]:
    return [event.data for event in WebhookEvent.objects.filter(type=kind).order_by("created_at")]


def stored(session, info_proto) -> Group:
    return group_store(session=session, info=group_from_proto(info_proto))


def group_url(session, suffix: str = "") -> str:
    return f"/api/v1/sessions/{session.id}/groups{suffix}"


# -- shapes -------------------------------------------------------------------------------


def test_join_requests_carry_when_each_was_made(served, client_for, whatsapp_session):
    stored(whatsapp_session, group_proto("Club", [], group_user=GROUP_USER))
    api = client_for(whatsapp_session.organization)
    answer = api.get(group_url(whatsapp_session, f"/{GROUP}/join-requests"))
    assert answer.status_code == 200, answer.content
    (request,) = answer.json()["results"]
    assert request["jid"] == "15551230009@s.whatsapp.net"
    asked = datetime.fromtimestamp(REQUESTED_AT_MICROS / 1_000_000, tz=UTC)
    assert datetime.fromisoformat(request["requestedAt"].replace("Z", "+00:00")) == asked


# -- whatsmeow's wrapped errors, by their text ------------------------------------------------


WRAPPED = [
    (INVITE_REVOKED, NotFound, 404, None),
    (INVITE_INVALID, NotFound, 404, None),
    (GROUP_NOT_FOUND, NotFound, 404, None),
    (NOT_IN_GROUP, NotFound, 404, None),
    (INVITE_UNAUTHORIZED, Conflict, 409, "not_admin"),
    (INVALID_IMAGE, InvalidInput, 400, None),
]


@pytest.mark.parametrize(("text", "kind", "status", "reason"), WRAPPED)
def test_each_wrapped_error_text_is_mapped(text, kind, status, reason):
    from gateway.errors import STATUS_BY_CODE

    error = whatsapp_error(text)
    assert type(error) is kind
    assert STATUS_BY_CODE[error.code] == status
    assert error.details.get("reason") == reason
    assert error.details["whatsappError"] == text


@pytest.mark.skipif(NEONIZE_LIBRARY is None, reason="neonize's Go library is not installed")
@pytest.mark.parametrize("text", [row[0] for row in WRAPPED])
def test_each_text_is_the_librarys_own(text):
    """Taken from whatsmeow's errors.go: the Go library neonize ships holds each one."""
    assert NEONIZE_LIBRARY is not None
    assert text.encode() in NEONIZE_LIBRARY.read_bytes()


def test_a_refused_invite_link_and_a_refused_picture_reach_the_caller(
    served, client_for, whatsapp_session
):
    stored(whatsapp_session, group_proto("Club", [], group_user=GROUP_USER))
    api = client_for(whatsapp_session.organization)
    served.group_errors["get_group_invite_link"] = INVITE_UNAUTHORIZED
    error = assert_error(api.get(group_url(whatsapp_session, f"/{GROUP}/invite")), 409, "conflict")
    assert error["details"]["reason"] == "not_admin"
    served.group_errors["join_group_with_link"] = INVITE_REVOKED
    answer = api.post(group_url(whatsapp_session, "/join"), {"code": "Revoked12"}, format="json")
    assert_error(answer, 404, "not_found")
    served.group_errors["set_group_photo"] = INVALID_IMAGE
    import base64

    picture = {"image": base64.b64encode(jpeg(64, 64)).decode()}
    answer = api.put(group_url(whatsapp_session, f"/{GROUP}/picture"), picture, format="json")
    assert_error(answer, 400, "validation_error")


def test_a_picture_at_the_documented_limit_crosses_to_the_runner(
    served, client_for, whatsapp_session
):
    """1 MiB is the API's limit; base64 in JSON that is 1.33 MiB on the web→runner hop,
    which once refused it as "bad runner request: body length" (a 400 to the caller)."""
    import base64

    from groups_app.rules import PICTURE_MAX_BYTES

    stored(whatsapp_session, group_proto("Club", [], group_user=GROUP_USER))
    head = jpeg(800, 800)
    picture = head + b"\0" * (PICTURE_MAX_BYTES - len(head))  # a JPEG, padded to the limit
    api = client_for(whatsapp_session.organization)
    answer = api.put(
        group_url(whatsapp_session, f"/{GROUP}/picture"),
        {"image": base64.b64encode(picture).decode()},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert size_of(served.photos[-1]) == (640, 640)


def test_a_runner_that_refuses_a_calls_framing_is_an_internal_error_not_the_callers(
    served, settings, whatsapp_session
):
    """A call the runner will not even read (over its body cap) is the gateway's fault,
    not the caller's: it is never answered as the caller's 400."""
    from gateway.errors import STATUS_BY_CODE
    from gateway.exceptions import GatewayError
    from sessions_app.runner.client import call_runner
    from sessions_app.runner.server import MAX_BODY

    with pytest.raises(GatewayError) as refused:
        call_runner(
            settings.GATEWAY_RUNNER_URL,
            whatsapp_session.id,
            "set_group_picture",
            {"group_jid": GROUP, "image": "A" * MAX_BODY},
            timeout=10,
        )
    assert "body length" in refused.value.message
    assert refused.value.code not in STATUS_BY_CODE  # so the API answers 500 internal_error


def test_not_authorized_on_an_admin_operation_is_not_admin(engine):
    live, fake, _ = engine
    fake.group_errors["set_group_name"] = "info query returned status 401: not-authorized"
    with pytest.raises(Conflict) as refused:
        live.set_group_subject(group_jid=GROUP, subject="X")
    assert refused.value.details["reason"] == "not_admin"


# -- joining a group that needs approval ---------------------------------------------------


def test_a_join_awaiting_approval_is_202_pending_and_stores_nothing(
    served, client_for, whatsapp_session, every_event
):
    served.join_pending = True
    api = client_for(whatsapp_session.organization)
    answer = api.post(group_url(whatsapp_session, "/join"), {"code": "AbCdEf123"}, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json() == {"status": "pending_approval", "groupJid": "120363000000000321@g.us"}
    assert not Group.objects.exists()
    assert events("group.joined") == []


# -- keepalive, then a reconnect ----------------------------------------------------------


def test_a_reconnect_after_a_keepalive_timeout_cancels_the_pending_disconnection(
    engine, whatsapp_session, monkeypatch
):
    monkeypatch.setattr(whatsapp_engine, "KEEPALIVE_GRACE_SECONDS", 0.5)
    live, fake, _ = engine
    fake.deliver(KeepAliveTimeoutEv(ErrorCount=1))
    timer = live._keepalive_timer
    assert timer is not None
    # whatsmeow dropped the socket and reconnected: Connected, no KeepAliveRestored.
    fake.deliver(ConnectedEv(status=True))
    timer.join(timeout=5)  # the grace is over (or the timer was cancelled)
    assert not timer.is_alive()
    reports_written(live)
    session = reload(whatsapp_session)
    assert session.status == SessionStatus.CONNECTED
    assert "keepalive" not in session.status_reason
    assert not session.events.filter(reason__contains="keepalive").exists()


# -- a create that timed out, then its retry -----------------------------------------------


def test_a_retry_finds_the_group_the_joined_event_stored_and_creates_no_second(
    served, client_for, whatsapp_session, every_event
):
    """WhatsApp made the group, told us with JoinedGroup (stored at once), and the create
    timed out. The retry with the key must find that group, stored or not."""
    made = group_proto("Team", [("15551230001", 0)], group_user="120363000000000077")

    def whatsapp_made_it() -> None:
        served.deliver(JoinedGroupEv(GroupInfo=made, Type="new"))
        wait_for(lambda: Group.objects.filter(jid="120363000000000077@g.us").exists(), "event")

    served.create_error = "info query timed out"
    served.during_create = whatsapp_made_it
    api = client_for(whatsapp_session.organization)
    body = {"name": "Team", "participants": [ALICE]}
    first = api.post(group_url(whatsapp_session), body, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert_error(first, 504, "whatsapp_timeout")

    served.during_create = None
    served.joined = [made]  # WhatsApp lists it now
    retry = api.post(group_url(whatsapp_session), body, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert retry.status_code == 201, retry.content
    assert retry.json()["groupJid"] == "120363000000000077@g.us"
    assert len(served.created) == 1  # looked, found, did not create again
    assert Group.objects.filter(session=whatsapp_session).count() == 1
    assert [event["groupJid"] for event in events("group.created")] == ["120363000000000077@g.us"]
    assert events("group.joined") == []


def test_a_retry_whose_lookup_fails_is_still_unknown_and_creates_nothing(
    served, client_for, whatsapp_session
):
    served.create_error = "info query timed out"
    api = client_for(whatsapp_session.organization)
    body = {"name": "Team", "participants": [ALICE]}
    url = group_url(whatsapp_session)
    assert_error(
        api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-8"), 504, "whatsapp_timeout"
    )
    served.joined_lookup_error = "info query timed out"
    retry = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-8")
    error = assert_error(retry, 504, "whatsapp_timeout")
    assert "still unknown" in error["message"]
    assert len(served.created) == 1  # never created blindly
    assert not Group.objects.exists()


# -- one event per fact ----------------------------------------------------------------------


def test_a_create_whose_joined_event_arrives_first_is_one_created_event(
    served, client_for, whatsapp_session, every_event
):
    made = group_proto("Team", [("15551230001", 0)], group_user="120363000000000078")
    served.create_result = made

    def event_first() -> None:
        served.deliver(JoinedGroupEv(GroupInfo=made, Type="new"))
        wait_for(lambda: Group.objects.filter(jid="120363000000000078@g.us").exists(), "event")

    served.during_create = event_first
    api = client_for(whatsapp_session.organization)
    created = api.post(
        group_url(whatsapp_session), {"name": "Team", "participants": [ALICE]}, format="json"
    )
    assert created.status_code == 201, created.content
    assert [event["groupJid"] for event in events("group.created")] == ["120363000000000078@g.us"]
    assert events("group.joined") == []


def test_a_join_whose_event_arrives_first_is_one_joined_event(
    served, client_for, whatsapp_session, every_event
):
    club = group_proto("Club", [("15551230001", 0)], group_user="120363000000000055")
    served.joined = [club]
    served.deliver(JoinedGroupEv(GroupInfo=club, Reason="invite"))
    wait_for(lambda: Group.objects.filter(jid="120363000000000055@g.us").exists(), "the event")
    api = client_for(whatsapp_session.organization)
    answer = api.post(group_url(whatsapp_session, "/join"), {"code": "AbCdEf123"}, format="json")
    assert answer.status_code == 200, answer.content
    assert [event["groupJid"] for event in events("group.joined")] == ["120363000000000055@g.us"]
    assert events("group.created") == []


# -- the device store's SSL mode -----------------------------------------------------------


@pytest.mark.skipif(not database_url().startswith("postgres"), reason="a PostgreSQL device store")
def test_a_postgresql_store_url_gets_the_ssl_mode_psycopg_negotiated(settings, tmp_path):
    """lib/pq takes a URL without sslmode as "require"; this server has SSL off (as the
    test's PostgreSQL here does), so neonize must be told "disable" — the mode psycopg
    fell back to. Checked with the real library, in a subprocess."""
    import psycopg

    with psycopg.connect(database_url()) as probe:
        ssl = probe.pgconn.ssl_in_use
    settings.GATEWAY_DEVICE_STORE = database_url()
    prepared = device_store.prepare("any-session")
    assert prepared.endswith("sslmode=" + ("require" if ssl else "disable"))
    # whatsmeow's own answer to opening the store (neonize's wrapper would split an error
    # on commas; the Go function's text is read as it is).
    script = (
        "import sys\n"
        "import neonize.client as c\n"
        "callback = c.func_callback_bytes2(c.log_whatsmeow)\n"
        "print(repr(c.gocode.GetAllDevices(sys.argv[1].encode(), callback).decode()))\n"
    )

    def opens(url: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, url],
            cwd=ROOT,
            env=process_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    assert opens(prepared) == "''"  # opened (and set up): no device yet, no error
    if not ssl:
        assert "SSL is not enabled on the server" in opens(database_url())


# -- LID-addressed groups ------------------------------------------------------------------


def test_lid_members_of_an_event_are_stored_by_phone_with_their_lid(
    engine, whatsapp_session, every_event
):
    _, fake, _ = engine
    group = stored(
        whatsapp_session, group_proto("Club", [("15551230001", 0)], group_user=GROUP_USER)
    )
    fake.lid_phones = {"88001": "15551230005", "88002": "15551230001"}
    fake.joined = [
        group_proto("Club", [("15551230001", 0), ("15551230005", 0)], group_user=GROUP_USER)
    ]
    fake.deliver(
        GroupInfoEv(
            JID=jid(GROUP_USER, "g.us"),
            Join=[jid("88001", "lid")],
            Promote=[jid("88001", "lid"), jid("88002", "lid")],
            Leave=[jid("88999", "lid")],  # nobody whatsmeow knows: stays a LID
        )
    )
    wait_for(
        lambda: events("group.participants") and len(events("group.participants")) == 3, "events"
    )
    joined = group.participants.get(jid="15551230005@s.whatsapp.net")
    assert joined.lid == "88001@lid"
    assert group.participants.get(jid="15551230001@s.whatsapp.net").lid == "88002@lid"
    by_action = {event["action"]: event["participants"] for event in events("group.participants")}
    assert by_action["join"] == ["15551230005@s.whatsapp.net"]
    assert by_action["promote"] == ["15551230005@s.whatsapp.net", "15551230001@s.whatsapp.net"]
    assert by_action["leave"] == ["88999@lid"]


def test_a_member_known_only_by_lid_can_be_removed_and_promoted(
    served, client_for, whatsapp_session
):
    stored(whatsapp_session, group_proto("Club", [], group_user=GROUP_USER))
    api = client_for(whatsapp_session.organization)
    url = group_url(whatsapp_session, f"/{GROUP}/participants")
    for action in ("remove", "promote"):
        answer = api.post(url, {"action": action, "participants": ["88003@lid"]}, format="json")
        assert answer.status_code == 200, answer.content
        assert served.group_calls[-1] == ("update_group_participants", GROUP_USER, ["88003"])
        assert served.participant_servers == ["lid"]
    refused = api.post(url, {"action": "add", "participants": ["88003@lid"]}, format="json")
    assert_error(refused, 400, "validation_error")


# -- reasons neonize cannot encode, bans ----------------------------------------------------


@pytest.mark.parametrize(
    ("event", "status", "wanted", "reason"),
    [
        ("TemporaryBan", SessionStatus.BANNED, False, "temporarily banned"),
        ("LoggedOut", SessionStatus.LOGGED_OUT, False, "logged out"),
        ("ConnectFailure", SessionStatus.DISCONNECTED, True, "cannot name"),
    ],
)
def test_an_event_reason_outside_neonizes_enum_is_reported_honestly(
    whatsapp_session, event, status, wanted, reason
):
    """Go's Marshal refuses the nil required enum and neonize's event loop ends: connect()
    returns that error. The session says what happened, not "connection failed"."""
    fake = FakeNeonizeClient()
    field = "Code" if event == "TemporaryBan" else "Reason"
    fake.dial_error = f"proto: required field neonize.{event}.{field} not set"
    ended: list[bool] = []
    live = live_on(whatsapp_session, fake, on_ended=ended.append)
    live.start()
    wait_for(lambda: ended, "the attempt to end")
    wait_for(lambda: reload(whatsapp_session).status == status, f"status {status}")
    assert reason in whatsapp_session.status_reason
    assert whatsapp_session.desired_connected is wanted
    assert ended == [wanted]
    live.stop()


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("UNKNOWN_LOGOUT", "banned by WhatsApp (406)"),
        ("MAIN_DEVICE_GONE", "locked by WhatsApp (403)"),
    ],
)
def test_logouts_406_and_403_are_a_ban_and_a_lock(engine, whatsapp_session, reason, words):
    _, fake, ended = engine
    fake.deliver(LoggedOutEv(Reason=ConnectFailureReason.Value(reason)))
    wait_for(lambda: reload(whatsapp_session).status == SessionStatus.BANNED, "banned")
    assert words in whatsapp_session.status_reason
    assert whatsapp_session.jid == OWN_JID  # which number it was stays visible
    assert whatsapp_session.desired_connected is False
    assert not device_store.file_path(whatsapp_session.id).exists()
    wait_for(lambda: ended == [False], "the runner to be told")


# -- removed from a group, or the group deleted ---------------------------------------------


@pytest.mark.parametrize("how", ["removed", "deleted", "unreadable"])
def test_a_group_the_account_is_out_of_leaves_the_store(engine, whatsapp_session, every_event, how):
    _, fake, _ = engine
    stored(whatsapp_session, group_proto("Club", [("15551230001", 0)], group_user=GROUP_USER))
    if how == "removed":
        event = GroupInfoEv(JID=jid(GROUP_USER, "g.us"), Leave=[jid(OWN)])
    elif how == "deleted":
        event = GroupInfoEv(JID=jid(GROUP_USER, "g.us"), Delete=GroupDelete(Deleted=True))
    else:  # a change we are told of, and the group cannot be read any more
        event = GroupInfoEv(JID=jid(GROUP_USER, "g.us"), Join=[jid("15551230007")])
    fake.deliver(event)
    wait_for(lambda: not Group.objects.filter(jid=GROUP).exists(), "the group to go")
    wait_for(lambda: events("group.left"), "group.left")
    assert events("group.left") == [
        {"groupJid": GROUP, "reason": "deleted" if how == "deleted" else "removed"}
    ]


# -- pictures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "sent"),
    [((2000, 1000), (640, 640)), ((500, 800), (500, 500)), ((320, 320), (320, 320))],
)
def test_pictures_go_square_and_at_most_640_pixels(engine, size, sent):
    live, fake, _ = engine
    picture = jpeg(*size)
    live.set_group_picture(group_jid=GROUP, jpeg=picture)
    assert size_of(fake.photos[-1]) == sent
    if size == sent:
        assert fake.photos[-1] == picture  # already right: sent as it is


def test_a_picture_that_is_no_image_is_refused(engine):
    live, fake, _ = engine
    with pytest.raises(InvalidInput):
        live.set_group_picture(group_jid=GROUP, jpeg=b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    assert fake.photos == []


# -- pair codes ------------------------------------------------------------------------------


def test_a_pair_code_late_in_the_window_is_refused(whatsapp_session):
    live, _ = pairing(whatsapp_session)
    try:
        live._qr_window_ends = datetime.now(tz=UTC) + timedelta(seconds=15)
        with pytest.raises(Conflict) as refused:
            live.pair_code(phone="15550001111")
        assert refused.value.details["reason"] == "pairing_window_closing"
        live._qr_window_ends = datetime.now(tz=UTC) + timedelta(seconds=25)
        assert live.pair_code(phone="15550001111").code == "ABCD-EFGH"
    finally:
        live.stop()


def test_the_pair_code_answer_says_when_it_expires(settings, client_for, whatsapp_session):
    """Through the API, with the runner in this process."""
    from sessions_app import routing
    from sessions_app.runner.supervisor import Supervisor

    fake = FakeNeonizeClient()
    fake.connect = lambda: fake._stopped.wait()

    def factory(session, *, sink, on_ended, allow_whatsapp, lease_hold=None):
        return live_on(session, fake, on_ended=on_ended)

    supervisor = Supervisor(factory=factory)
    settings.GATEWAY_RUNNER_IN_PROCESS = True
    original, routing._in_process = routing._in_process, supervisor
    try:
        supervisor.start(whatsapp_session.id)
        wait_for(lambda: fake.qr_handler is not None, "the QR handler")
        fake.qr_handler(fake, b"2@first-code")
        wait_for(lambda: reload(whatsapp_session).status == SessionStatus.PAIRING, "pairing")
        api = client_for(whatsapp_session.organization)
        answer = api.post(
            f"/api/v1/sessions/{whatsapp_session.id}/pair-code",
            {"phone": "15550001111"},
            format="json",
        )
        assert answer.status_code == 200, answer.content
        body = answer.json()
        assert body["code"] == "ABCD-EFGH"
        left = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")) - datetime.now(
            tz=UTC
        )
        assert timedelta(seconds=150) < left <= timedelta(seconds=160)
    finally:
        supervisor.stop_all(record=False)
        routing._in_process = original
