"""The whatsapp engine with neonize's own protobufs and errors; the network is faked
at the neonize client (tests/sessions_app/fake_whatsapp.py)."""

from datetime import UTC, datetime

import pytest
from neonize.events import (
    ConnectFailureEv,
    DisconnectedEv,
    GroupInfoEv,
    JoinedGroupEv,
    LoggedOutEv,
    PairStatusEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import ConnectFailureReason, GroupParticipant

from gateway.errors import STATUS_BY_CODE
from gateway.exceptions import (
    NotConnected,
    WhatsAppFailed,
    WhatsAppRateLimited,
    WhatsAppTimedOut,
)
from groups_app.models import Group
from groups_app.serializers import GroupInfoSerializer
from groups_app.store import group_store
from sessions_app import device_store
from sessions_app.engines.whatsapp import WhatsAppLiveSession
from sessions_app.engines.whatsapp_mapping import group_from_proto, whatsapp_error
from sessions_app.models import Engine, SessionStatus
from sessions_app.runner.supervisor import Supervisor, backoff_delay
from tests.factories import WhatsAppSessionFactory
from tests.pictures import jpeg
from tests.processes import wait_for
from tests.sessions_app.fake_engine import live_on, pairing, reload, reports_written
from tests.sessions_app.fake_whatsapp import (
    OWN,
    REQUESTED_AT_MICROS,
    FakeNeonizeClient,
    group_proto,
    jid,
)


class TestMapping:
    def test_group_info_protobuf_to_the_gateways(self):
        proto = group_proto(
            "Team", [("15551230001", 0), ("15551230002", 403), ("15551230003", 409)]
        )
        info = group_from_proto(proto)
        assert info.jid == "120363000000000001@g.us"
        assert info.subject == "Team"
        assert info.owner_jid == f"{OWN}@s.whatsapp.net"
        by_jid = {p.jid.split("@")[0]: p for p in info.participants}
        assert by_jid[OWN].is_super_admin and by_jid[OWN].is_admin
        assert by_jid["15551230002"].error == 403
        assert by_jid["15551230002"].invite_code == "invite-code"
        assert by_jid["15551230002"].invite_expires_at is not None
        # owner + added + already a member; the one needing an invite is not in
        assert info.member_count == 3

    def test_lid_members_are_stored_by_phone_number(self):
        proto = group_proto("Team", [])
        proto.Participants.append(
            GroupParticipant(
                JID=jid("987654321", "lid"), PhoneNumber=jid("15551230009"), IsAdmin=False
            )
        )
        assert "15551230009@s.whatsapp.net" in {p.jid for p in group_from_proto(proto).participants}

    @pytest.mark.django_db
    def test_stored_and_answered_count_excludes_refused_numbers(self):
        session = WhatsAppSessionFactory(engine=Engine.WHATSAPP)
        info = group_from_proto(group_proto("Team", [("15551230001", 0), ("15551230002", 403)]))
        group = group_store(session=session, info=info)
        assert GroupInfoSerializer(group).data["participants"] == 2
        assert group.participants.get(jid="15551230002@s.whatsapp.net").add_error == 403


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("message", "kind", "status"),
        [
            ("info query returned status 429: rate-overlimit", WhatsAppRateLimited, 429),
            ("info query timed out", WhatsAppTimedOut, 504),
            ("websocket not connected", NotConnected, 501),
            ("info query returned status 401: not-authorized", WhatsAppFailed, 502),
            ("info query returned status 400: bad-request", WhatsAppFailed, 502),
            ("info query returned status 406: not-acceptable", WhatsAppFailed, 502),
            ("failed to send usync query: something odd", WhatsAppFailed, 502),
        ],
    )
    def test_each_class(self, message, kind, status):
        error = whatsapp_error(message)
        assert type(error) is kind
        assert STATUS_BY_CODE[error.code] == status
        assert error.details["whatsappError"] == message

    def test_reason_and_retry_after(self):
        limited = whatsapp_error("info query returned status 429: rate-overlimit")
        assert limited.retry_after == 60
        assert limited.details["reason"] == "rate-overlimit"
        refused = whatsapp_error("info query returned status 401: not-authorized")
        assert (refused.details["status"], refused.details["reason"]) == (401, "not-authorized")


@pytest.mark.django_db(transaction=True)
class TestLiveSession:
    def test_connect_records_status_and_syncs_groups(self, whatsapp_session, settings):
        settings.GATEWAY_DEVICE_STORE = "sqlite"
        fake = FakeNeonizeClient()
        fake.joined = [group_proto("Old", [("15551230001", 0)], group_user="120363000000000077")]
        live = live_on(whatsapp_session, fake)
        live.start()
        wait_for(lambda: Group.objects.filter(session=whatsapp_session).exists(), "the sync")
        assert reload(whatsapp_session).status == SessionStatus.CONNECTED
        store = device_store.file_path(whatsapp_session.id)
        assert store.exists() and store.stat().st_mode & 0o077 == 0
        live.stop()

    def test_create_group(self, engine):
        live, fake, _ = engine
        fake.create_result = group_proto("Team", [("15551230001", 0), ("15551230002", 403)])
        info = live.create_group(
            name="Team",
            participants=["15551230001@s.whatsapp.net", "15551230002@s.whatsapp.net"],
        )
        assert fake.created == [("Team", ["15551230001", "15551230002"])]
        assert info.member_count == 2

    @pytest.mark.parametrize(
        ("message", "kind"),
        [
            ("info query returned status 429: rate-overlimit", WhatsAppRateLimited),
            ("info query returned status 500: internal-server-error", WhatsAppFailed),
            ("info query timed out", WhatsAppTimedOut),
        ],
    )
    def test_create_group_errors(self, engine, message, kind):
        live, fake, _ = engine
        fake.create_error = message
        with pytest.raises(kind) as raised:
            live.create_group(name="Team", participants=["15551230001@s.whatsapp.net"])
        assert raised.value.details["whatsappError"] == message

    def test_timeout_after_whatsapp_created_it_returns_the_group(self, engine):
        live, fake, _ = engine
        fake.create_error = "info query timed out"
        fake.joined = [group_proto("Team", [("15551230001", 0)], group_user="120363000000000042")]
        info = live.create_group(name="Team", participants=["15551230001@s.whatsapp.net"])
        assert info.jid == "120363000000000042@g.us"

    def test_pairing_qr_and_pair_status(self, whatsapp_session, settings):
        settings.GATEWAY_DEVICE_STORE = "sqlite"
        live, fake = pairing(whatsapp_session)
        assert whatsapp_session.qr_code == "2@first-code"
        paired = live.pair_code(phone="15550001111")
        assert paired.code == "ABCD-EFGH"
        # Good while the pairing window lasts: about 160 s from the first QR.
        assert 150 < (paired.expires_at - datetime.now(tz=UTC)).total_seconds() <= 160
        fake.deliver(PairStatusEv(ID=jid(OWN), Status=PairStatusEv.SUCCESS))
        wait_for(lambda: reload(whatsapp_session).jid == f"{OWN}@s.whatsapp.net", "the jid")
        assert whatsapp_session.qr_code == ""
        live.stop()

    def test_joined_group_event_is_stored(self, engine, whatsapp_session):
        _, fake, _ = engine
        proto = group_proto("Joined", [("15551230001", 0)], group_user="120363000000000055")
        fake.deliver(JoinedGroupEv(GroupInfo=proto))
        wait_for(lambda: Group.objects.filter(jid="120363000000000055@g.us").exists(), "the group")
        assert Group.objects.get(jid="120363000000000055@g.us").subject == "Joined"

    def test_group_info_event_refreshes_the_stored_group(self, engine, whatsapp_session):
        _, fake, _ = engine
        before = group_proto("Before", [("15551230001", 0)], group_user="120363000000000066")
        group_store(session=whatsapp_session, info=group_from_proto(before))
        fake.joined = [
            group_proto(
                "After", [("15551230001", 0), ("15551230002", 0)], group_user="120363000000000066"
            )
        ]
        fake.deliver(GroupInfoEv(JID=jid("120363000000000066", "g.us")))
        wait_for(
            lambda: Group.objects.get(jid="120363000000000066@g.us").subject == "After",
            "the refresh",
        )
        assert Group.objects.get(jid="120363000000000066@g.us").participant_count == 3

    def test_disconnect_is_transient(self, engine, whatsapp_session):
        _, fake, ended = engine
        fake.deliver(DisconnectedEv())
        wait_for(lambda: reload(whatsapp_session).status == SessionStatus.DISCONNECTED, "status")
        assert whatsapp_session.desired_connected is True
        assert ended == []

    @pytest.mark.parametrize(
        ("event", "status", "reason_part"),
        [
            (
                LoggedOutEv(Reason=ConnectFailureReason.Value("LOGGED_OUT")),
                SessionStatus.LOGGED_OUT,
                "logged out",
            ),
            (
                TemporaryBanEv(Code=TemporaryBanEv.SEND_TO_TOO_MANY_PEOPLE, Expire=3600),
                SessionStatus.BANNED,
                "send to too many people",
            ),
        ],
    )
    def test_terminal_events_stop_and_say_why(
        self, engine, whatsapp_session, event, status, reason_part
    ):
        _, fake, ended = engine
        fake.deliver(event)
        wait_for(lambda: reload(whatsapp_session).status == status, f"status {status}")
        assert reason_part in whatsapp_session.status_reason
        assert whatsapp_session.desired_connected is False
        wait_for(lambda: ended == [False], "the runner to be told")
        assert fake._stopped.is_set()
        if status == SessionStatus.LOGGED_OUT:
            assert not device_store.file_path(whatsapp_session.id).exists()


@pytest.mark.django_db(transaction=True)
def test_failed_dials_are_retried_with_capped_backoff(settings):
    settings.GATEWAY_DEVICE_STORE = "sqlite"
    session = WhatsAppSessionFactory(engine=Engine.WHATSAPP, fresh=True, desired_connected=True)
    now = [1000.0]
    fakes: list[FakeNeonizeClient] = []

    def failing_factory(location):
        fake = FakeNeonizeClient()
        fake.dial_error = "failed to dial whatsapp web websocket: no such host"
        fakes.append(fake)
        return fake

    def factory(session, *, sink, on_ended, allow_whatsapp, lease_hold=None):
        return WhatsAppLiveSession(
            session_id=session.id,
            name=session.name,
            jid=session.jid,
            sink=sink,
            on_ended=on_ended,
            client_factory=failing_factory,
        )

    supervisor = Supervisor(clock=lambda: now[0], factory=factory)
    supervisor.reconcile()
    wait_for(lambda: supervisor.retry_at(session.id) is not None, "the retry to be scheduled")
    assert supervisor.retry_at(session.id) == 1000.0 + backoff_delay(1)
    assert "failed to dial" in reload(session).status_reason
    assert session.status == SessionStatus.DISCONNECTED

    supervisor.reconcile()  # not due yet
    assert len(fakes) == 1
    now[0] += backoff_delay(1)
    supervisor.reconcile()
    wait_for(lambda: supervisor.retry_at(session.id) == now[0] + backoff_delay(2), "2nd retry")
    assert len(fakes) == 2
    assert [backoff_delay(n) for n in (1, 2, 3, 20)] == [2, 4, 8, 300]
    supervisor.stop_all(record=False)


@pytest.mark.django_db(transaction=True)
class TestThroughTheRunnerProtocol:
    """WhatsApp's refusals reach the API caller unchanged across the web ↔ runner hop."""

    def create(self, api, session):
        return api.post(
            f"/api/v1/sessions/{session.id}/groups",
            {"name": "Team", "participants": ["15551230001@s.whatsapp.net"]},
            format="json",
        )

    def test_rate_limit_is_429_with_retry_after(self, served, client_for, whatsapp_session):
        served.create_error = "info query returned status 429: rate-overlimit"
        response = self.create(client_for(whatsapp_session.organization), whatsapp_session)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert response["Retry-After"] == "60"
        assert not Group.objects.exists()

    def test_refusal_is_502_with_whatsapps_reason(self, served, client_for, whatsapp_session):
        served.create_error = "info query returned status 403: forbidden"
        response = self.create(client_for(whatsapp_session.organization), whatsapp_session)
        assert response.status_code == 502
        error = response.json()["error"]
        assert error["code"] == "whatsapp_error"
        assert error["details"]["reason"] == "forbidden"

    def test_timeout_is_504_and_stores_nothing(self, served, client_for, whatsapp_session):
        served.create_error = "info query timed out"
        response = self.create(client_for(whatsapp_session.organization), whatsapp_session)
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "whatsapp_timeout"
        assert not Group.objects.exists()

    def test_a_patch_that_fails_midway_says_what_was_applied(
        self, served, client_for, whatsapp_session
    ):
        group = group_store(
            session=whatsapp_session,
            info=group_from_proto(group_proto("Team", [], group_user="120363000000000099")),
        )
        served.group_errors["set_group_topic"] = "info query returned status 500: internal"
        response = client_for(whatsapp_session.organization).patch(
            f"/api/v1/sessions/{whatsapp_session.id}/groups/{group.jid}",
            {"subject": "Renamed", "description": "Ours", "isAnnounce": True},
            format="json",
        )
        assert response.status_code == 502, response.content
        assert response.json()["error"]["details"]["applied"] == ["subject"]
        group.refresh_from_db()
        assert (group.subject, group.description, group.is_announce) == ("Renamed", "", False)
        assert [call[0] for call in served.group_calls] == ["set_group_name", "set_group_topic"]

    def test_success_is_201_with_the_count_whatsapp_reported(
        self, served, client_for, whatsapp_session
    ):
        served.create_result = group_proto("Team", [("15551230001", 0), ("15551230002", 403)])
        response = self.create(client_for(whatsapp_session.organization), whatsapp_session)
        assert response.status_code == 201
        assert response.json()["participants"] == 2
        assert response.json()["groupJid"] == "120363000000000001@g.us"


@pytest.mark.django_db(transaction=True)
def test_timeout_never_returns_a_group_the_store_already_has(engine, whatsapp_session):
    live, fake, _ = engine
    existing = group_proto("Team", [("15551230001", 0)], group_user="120363000000000043")
    group_store(session=whatsapp_session, info=group_from_proto(existing))
    fake.create_error = "info query timed out"
    fake.joined = [existing]
    with pytest.raises(WhatsAppTimedOut):
        live.create_group(name="Team", participants=["15551230001@s.whatsapp.net"])


@pytest.mark.django_db(transaction=True)
class TestRetryAfterTimeout:
    def test_the_retry_finds_the_group_whatsapp_made_and_creates_no_second(
        self, settings, whatsapp_session, client_for
    ):
        fake = FakeNeonizeClient()

        def factory(session, *, sink, on_ended, allow_whatsapp, lease_hold=None):
            return live_on(session, fake, on_ended=on_ended)

        supervisor = Supervisor(factory=factory)
        settings.GATEWAY_RUNNER_IN_PROCESS = True
        from sessions_app import routing

        original = routing._in_process
        routing._in_process = supervisor
        try:
            started = supervisor.start(whatsapp_session.id)
            wait_for(lambda: started.connected, "connected")
            wait_for(lambda: reload(whatsapp_session).status == SessionStatus.CONNECTED, "status")
            api = client_for(whatsapp_session.organization)
            body = {"name": "Team", "participants": ["15551230001@s.whatsapp.net"]}
            url = f"/api/v1/sessions/{whatsapp_session.id}/groups"

            fake.create_error = "info query timed out"  # and WhatsApp lists nothing yet
            first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
            assert first.status_code == 504

            # WhatsApp had made it after all; it shows up in the account's groups.
            fake.joined = [
                group_proto("Team", [("15551230001", 0)], group_user="120363000000000077")
            ]
            retry = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

            assert retry.status_code == 201
            assert retry.json()["groupJid"] == "120363000000000077@g.us"
            assert len(fake.created) == 1  # looked, found, did not create again
            assert Group.objects.filter(session=whatsapp_session).count() == 1
        finally:
            supervisor.stop_all(record=False)
            routing._in_process = original


@pytest.mark.django_db(transaction=True)
class TestDefectsOnFirstContact:
    """What a real deployment would meet first (issue: real WhatsApp, safely)."""

    @pytest.mark.parametrize("reason", ["GENERIC", "INTERNAL_SERVER_ERROR", "EXPERIMENTAL"])
    def test_a_connect_failure_ends_the_attempt_and_the_runner_retries(
        self, engine, whatsapp_session, reason
    ):
        _, fake, ended = engine
        fake.deliver(ConnectFailureEv(Reason=ConnectFailureReason.Value(reason), Message="x"))
        wait_for(lambda: ended == [True], "the attempt to end with a retry")
        assert fake._stopped.is_set()
        session = reload(whatsapp_session)
        assert session.status == SessionStatus.DISCONNECTED
        assert session.desired_connected is True
        assert "refused the connection" in session.status_reason

    def test_a_permanent_connect_failure_stops_for_good(self, engine, whatsapp_session):
        _, fake, ended = engine
        fake.deliver(ConnectFailureEv(Reason=ConnectFailureReason.Value("CLIENT_OUTDATED")))
        wait_for(lambda: ended == [False], "the runner to be told")
        assert reload(whatsapp_session).status == SessionStatus.FAILED
        assert whatsapp_session.desired_connected is False

    def test_stream_replaced_is_retried_with_backoff_not_terminal(self, engine, whatsapp_session):
        """Another client took the stream. Inside the gateway that cannot be a current
        lease holder (workers are fenced by their runner's lease), so a stale holder must
        not take this session offline for good: the attempt ends and the runner retries."""
        _, fake, ended = engine
        fake.deliver(StreamReplacedEv())
        wait_for(lambda: ended == [True], "the runner to be asked for a retry")
        session = reload(whatsapp_session)
        assert session.status == SessionStatus.DISCONNECTED
        assert session.desired_connected is True
        assert "stream replaced" in session.status_reason
        assert "retrying with backoff" in session.status_reason
        assert fake._stopped.is_set()

    def test_pairing_stores_the_device_jid_exactly(self, engine, whatsapp_session):
        from neonize.events import PairStatusEv

        _, fake, _ = engine
        event = PairStatusEv(Status=PairStatusEv.SUCCESS)
        event.ID.CopyFrom(jid("15550001111"))
        event.ID.Device = 12
        fake.deliver(event)
        wait_for(lambda: reload(whatsapp_session).device_jid != "", "the device JID")
        assert whatsapp_session.device_jid == "15550001111:12@s.whatsapp.net"
        assert whatsapp_session.jid == "15550001111@s.whatsapp.net"

    def test_an_unknown_ban_code_is_not_named_as_another(self, engine, whatsapp_session):
        _, fake, _ = engine
        fake.deliver(TemporaryBanEv(Expire=60))  # a code this protobuf does not know
        wait_for(lambda: reload(whatsapp_session).status == SessionStatus.BANNED, "banned")
        assert "unknown reason" in whatsapp_session.status_reason
        assert "send to too many people" not in whatsapp_session.status_reason

    def test_a_single_missed_keepalive_is_not_a_disconnection(
        self, engine, whatsapp_session, monkeypatch
    ):
        from neonize.events import KeepAliveRestoredEv, KeepAliveTimeoutEv

        from sessions_app.engines import whatsapp as whatsapp_engine

        monkeypatch.setattr(whatsapp_engine, "KEEPALIVE_GRACE_SECONDS", 0.5)
        live, fake, _ = engine
        fake.deliver(KeepAliveTimeoutEv(ErrorCount=1))
        timer = live._keepalive_timer
        assert timer is not None
        fake.deliver(KeepAliveRestoredEv())
        timer.join(timeout=5)  # cancelled, or its grace ran out
        reports_written(live)
        assert reload(whatsapp_session).status == SessionStatus.CONNECTED
        assert not whatsapp_session.events.filter(reason__contains="keepalive").exists()
        fake.deliver(KeepAliveTimeoutEv(ErrorCount=1))  # and this one lasts
        wait_for(
            lambda: reload(whatsapp_session).status == SessionStatus.DISCONNECTED,
            "a lasting keepalive loss to be recorded",
        )
        assert "keepalive" in whatsapp_session.status_reason


class TestMappingDefects:
    def test_a_dropped_socket_after_sending_is_an_unknown_outcome(self):
        error = whatsapp_error("websocket disconnected before info query returned response")
        assert isinstance(error, WhatsAppTimedOut)

    def test_the_real_not_logged_in_text_means_not_connected(self):
        from gateway.exceptions import NotConnected

        error = whatsapp_error("the store doesn't contain a device JID")
        assert isinstance(error, NotConnected)

    @pytest.mark.parametrize("created", [0, -62135596800])  # unset, and Go's zero time
    def test_a_missing_creation_time_is_none(self, created):
        info = group_from_proto(group_proto("Team", [], created=created))
        assert info.created_at is None


GROUP = "120363000000000088@g.us"


@pytest.mark.django_db(transaction=True)
class TestGroupManagementOnNeonize:
    def test_participant_changes_map_each_answer(self, engine):
        live, fake, _ = engine
        lid_member = GroupParticipant(JID=jid("98765", "lid"), Error=0)
        lid_member.PhoneNumber.CopyFrom(jid("15551230003"))
        invited = GroupParticipant(JID=jid("15551230002"), Error=403)
        invited.AddRequest.Code = "inv-code"
        invited.AddRequest.Expiration = 1_900_000_000
        fake.participant_answer = [
            GroupParticipant(JID=jid("15551230001"), Error=0),
            invited,
            GroupParticipant(JID=jid("15551230004"), Error=404),
            GroupParticipant(JID=jid("15551230005"), Error=409),
            GroupParticipant(JID=jid("15551230006"), Error=500),
            lid_member,
        ]
        results = live.update_participants(
            group_jid=GROUP, action="add", participants=["15551230001@s.whatsapp.net"]
        )
        assert fake.group_calls == [
            ("update_group_participants", "120363000000000088", ["15551230001"])
        ]
        assert [(r.jid, r.result, r.error_code) for r in results] == [
            ("15551230001@s.whatsapp.net", "added", None),
            ("15551230002@s.whatsapp.net", "needs_invite", 403),
            ("15551230004@s.whatsapp.net", "not_on_whatsapp", 404),
            ("15551230005@s.whatsapp.net", "already_member", 409),
            ("15551230006@s.whatsapp.net", "failed", 500),
            ("15551230003@s.whatsapp.net", "added", None),  # the phone number, not the LID
        ]
        assert results[1].invite_code == "inv-code"
        assert results[1].invite_expires_at.timestamp() == 1_900_000_000

    def test_forbidden_is_not_admin_and_unknown_is_404(self, engine):
        from gateway.exceptions import Conflict, NotFound

        live, fake, _ = engine
        fake.group_errors["set_group_name"] = "info query returned status 403: forbidden"
        with pytest.raises(Conflict) as refused:
            live.set_group_subject(group_jid=GROUP, subject="X")
        assert refused.value.details["reason"] == "not_admin"
        fake.group_errors["leave_group"] = "info query returned status 404: item-not-found"
        with pytest.raises(NotFound):
            live.leave_group(group_jid=GROUP)

    def test_settings_topic_and_invite_calls(self, engine):
        live, fake, _ = engine
        live.set_group_description(group_jid=GROUP, description="Our team")
        live.set_group_announce(group_jid=GROUP, announce=True)
        live.set_group_locked(group_jid=GROUP, locked=False)
        assert live.group_invite_code(group_jid=GROUP, revoke=False) == "Code123"
        assert live.group_invite_code(group_jid=GROUP, revoke=True) == "NewCode123"
        assert fake.group_calls == [
            ("set_group_topic", "120363000000000088", "", "", "Our team"),  # ids: whatsmeow's
            ("set_group_announce", "120363000000000088", True),
            ("set_group_locked", "120363000000000088", False),
            ("get_group_invite_link", "120363000000000088", False),
            ("get_group_invite_link", "120363000000000088", True),
        ]

    def test_picture_requests_join_and_invite_info(self, engine):
        live, fake, _ = engine
        fake.joined = [group_proto("Club", [("15551230001", 0)], group_user="120363000000000055")]
        assert live.set_group_picture(group_jid=GROUP, jpeg=jpeg(64, 64)) == ("picture-77")
        (asking,) = live.join_requests(group_jid=GROUP)
        assert asking.jid == "15551230009@s.whatsapp.net"
        assert asking.requested_at.timestamp() == REQUESTED_AT_MICROS / 1_000_000
        assert live.invite_info(code="AbCdEf123").subject == "Club"
        joined = live.join_group(code="AbCdEf123")
        assert joined.jid == "120363000000000055@g.us"
        assert [call[0] for call in fake.group_calls] == [
            "set_group_photo",
            "get_group_request_participants",
            "get_group_info_from_link",
            "join_group_with_link",
        ]

    def test_a_revoked_invite_is_404(self, engine):
        from gateway.exceptions import NotFound

        live, fake, _ = engine
        fake.group_errors["join_group_with_link"] = "info query returned status 404: item-not-found"
        with pytest.raises(NotFound):
            live.join_group(code="Revoked123")
