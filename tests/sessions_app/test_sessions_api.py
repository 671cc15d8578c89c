"""The sessions endpoints (runner in process; sandbox sessions)."""

import pytest
from django.utils import timezone

from groups_app.models import Group
from sessions_app import device_store
from sessions_app.models import Engine, SessionStatus, WhatsAppSession
from sessions_app.transitions import session_record_qr
from tests.factories import GroupFactory, WhatsAppSessionFactory
from tests.helpers import assert_error

SESSION_KEYS = {
    "id",
    "name",
    "engine",
    "status",
    "statusReason",
    "jid",
    "pushName",
    "connectedAt",
    "lastSeenAt",
    "createdAt",
    "sendBudget",
}


def url(session_id: str = "", suffix: str = "") -> str:
    base = "/api/v1/sessions"
    return f"{base}/{session_id}{suffix}" if session_id else base


@pytest.mark.django_db
class TestCreateListGet:
    def test_create_defaults_to_the_whatsapp_engine(self, api, org):
        response = api.post(url(), {"name": "Sales"}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert set(body) == SESSION_KEYS
        assert (body["engine"], body["status"], body["name"]) == ("whatsapp", "new", "Sales")
        assert WhatsAppSession.objects.get(pk=body["id"]).organization == org

    def test_create_a_sandbox_session(self, api):
        body = api.post(url(), {"engine": "sandbox"}, format="json").json()
        assert body["engine"] == "sandbox"

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"engine": "telegram"}, "engine"), ({"name": 5}, "name"), ({"name": "x" * 201}, "name")],
    )
    def test_create_validation(self, api, body, field):
        error = assert_error(api.post(url(), body, format="json"), 400, "validation_error")
        assert field in error["details"]
        assert not WhatsAppSession.objects.exists()

    def test_create_needs_manage(self, client_for, org):
        error = assert_error(
            client_for(org, "read,send").post(url(), {}, format="json"), 403, "forbidden"
        )
        assert error["details"] == {"required": "manage"}

    def test_list_is_scoped_to_the_organization(self, api, org, other_org):
        mine = WhatsAppSessionFactory(organization=org)
        WhatsAppSessionFactory(organization=other_org)
        body = api.get(url()).json()
        assert [s["id"] for s in body["results"]] == [mine.id]
        assert set(body) == {"next", "previous", "nextCursor", "previousCursor", "results"}

    def test_get_and_404_across_organizations(self, api, session, other_org):
        assert api.get(url(session.id)).json()["id"] == session.id
        theirs = WhatsAppSessionFactory(organization=other_org)
        assert_error(api.get(url(theirs.id)), 404, "not_found")

    def test_read_suffices_to_list_and_get(self, client_for, org, session):
        client = client_for(org, "read")
        assert client.get(url()).status_code == 200
        assert client.get(url(session.id)).status_code == 200


@pytest.mark.django_db
class TestConnect:
    def test_sandbox_connects_at_once(self, api, org):
        session = WhatsAppSessionFactory(organization=org, fresh=True)
        response = api.post(url(session.id, "/connect"))
        assert response.status_code == 202
        assert response.json()["status"] == "connected"
        assert response.json()["jid"].startswith("1555099")

    def test_whatsapp_without_the_runner_is_503_but_remembered(self, api, org):
        session = WhatsAppSessionFactory(organization=org, fresh=True, engine=Engine.WHATSAPP)
        assert_error(api.post(url(session.id, "/connect")), 503, "runner_unavailable")
        session.refresh_from_db()
        assert session.desired_connected is True
        assert session.status == SessionStatus.CONNECTING
        assert [(e.status, e.reason) for e in session.events.all()] == [
            ("connecting", "waiting for the runner")
        ]

    def test_needs_manage(self, client_for, org, session):
        assert_error(
            client_for(org, "read,send").post(url(session.id, "/connect")), 403, "forbidden"
        )


@pytest.mark.django_db
class TestQr:
    def pairing(self, org):
        session = WhatsAppSessionFactory(organization=org, fresh=True, engine=Engine.WHATSAPP)
        session_record_qr(
            session_id=session.id,
            code="2@qr-payload,abc,def",
            expires_at=timezone.now() + timezone.timedelta(seconds=60),
        )
        return session

    def test_json(self, api, org):
        session = self.pairing(org)
        response = api.get(url(session.id, "/qr"))
        assert response.status_code == 200
        assert response.json()["qr"] == "2@qr-payload,abc,def"
        assert "expiresAt" in response.json()
        assert response["Cache-Control"] == "no-store"

    def test_svg(self, api, org):
        session = self.pairing(org)
        response = api.get(url(session.id, "/qr"), HTTP_ACCEPT="image/svg+xml")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in response.content

    def test_png(self, api, org):
        session = self.pairing(org)
        response = api.get(url(session.id, "/qr"), HTTP_ACCEPT="image/png")
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")

    def test_image_answers_png_svg_or_the_pngs_bytes_as_asked(self, api, org):
        session = self.pairing(org)
        plain = api.get(url(session.id, "/qr/image"))
        assert plain["Content-Type"] == "image/png"
        assert plain.content.startswith(b"\x89PNG\r\n\x1a\n")
        as_bytes = api.get(url(session.id, "/qr/image"), HTTP_ACCEPT="application/octet-stream")
        assert as_bytes["Content-Type"] == "application/octet-stream"
        assert as_bytes.content.startswith(b"\x89PNG\r\n\x1a\n")
        svg = api.get(url(session.id, "/qr/image") + "?format=svg")
        assert svg["Content-Type"].startswith("image/svg+xml") and b"<svg" in svg.content
        error = assert_error(
            api.get(url(session.id, "/qr/image") + "?format=bin"), 400, "validation_error"
        )
        assert error["details"] == {"format": ["one of png, svg"]}

    def test_409_when_not_pairing_even_for_images(self, api, session):
        response = api.get(url(session.id, "/qr"), HTTP_ACCEPT="image/png")
        error = assert_error(response, 409, "conflict")
        assert error["details"]["status"] == "connected"

    def test_409_when_the_code_expired(self, api, org):
        session = self.pairing(org)
        WhatsAppSession.objects.filter(pk=session.pk).update(
            qr_expires_at=timezone.now() - timezone.timedelta(seconds=1)
        )
        assert_error(api.get(url(session.id, "/qr")), 409, "conflict")


@pytest.mark.django_db
class TestPairCode:
    def test_bad_phone_is_400(self, api, session):
        for phone in ["+15551234567", "555", "abc", 15551234567]:
            error = assert_error(
                api.post(url(session.id, "/pair-code"), {"phone": phone}, format="json"),
                400,
                "validation_error",
            )
            assert "phone" in error["details"]

    def test_not_pairing_is_409(self, api, session):
        response = api.post(url(session.id, "/pair-code"), {"phone": "15551234567"}, format="json")
        assert_error(response, 409, "conflict")


@pytest.mark.django_db
class TestLogoutAndDelete:
    def test_logout(self, api, session):
        response = api.post(url(session.id, "/logout"))
        assert response.status_code == 200
        assert response.json()["status"] == "logged_out"
        session.refresh_from_db()
        assert session.desired_connected is False and session.jid == ""

    def test_logout_when_not_connected_is_501(self, api, org):
        session = WhatsAppSessionFactory(organization=org, disconnected=True)
        assert_error(api.post(url(session.id, "/logout")), 501, "not_implemented")

    def test_logout_twice_is_409(self, api, session):
        api.post(url(session.id, "/logout"))
        assert_error(api.post(url(session.id, "/logout")), 409, "conflict")

    def test_delete_removes_the_session_its_groups_and_device_keys(self, api, session, settings):
        settings.GATEWAY_DEVICE_STORE = "sqlite"  # per-session files, whatever the database
        GroupFactory(session=session)
        store = device_store.file_path(session.id)
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_bytes(b"keys")

        assert api.delete(url(session.id)).status_code == 204

        assert not WhatsAppSession.objects.filter(pk=session.pk).exists()
        assert not Group.objects.exists()
        assert not store.exists()

    def test_delete_a_linked_whatsapp_session_needs_the_runner(self, api, org):
        session = WhatsAppSessionFactory(organization=org, engine=Engine.WHATSAPP)
        assert_error(api.delete(url(session.id)), 503, "runner_unavailable")
        assert WhatsAppSession.objects.filter(pk=session.pk).exists()

    def test_delete_a_linked_but_disconnected_whatsapp_session_is_409(self, api, org):
        session = WhatsAppSessionFactory(
            organization=org, engine=Engine.WHATSAPP, disconnected=True
        )
        assert_error(api.delete(url(session.id)), 409, "conflict")

    def test_delete_needs_manage(self, client_for, org, session):
        assert_error(client_for(org, "read,send").delete(url(session.id)), 403, "forbidden")


@pytest.mark.django_db
class TestGroupSync:
    def test_sync_stores_what_whatsapp_reports(self, api, session):
        created = api.post(
            f"/api/v1/sessions/{session.id}/groups",
            {"name": "Team", "participants": ["15551234567@s.whatsapp.net"]},
            format="json",
        )
        assert created.status_code == 201
        response = api.post(f"/api/v1/sessions/{session.id}/groups/sync")
        assert response.status_code == 200
        assert response.json() == {"synced": 1, "removed": 0}

    def test_not_connected_is_501(self, api, org):
        session = WhatsAppSessionFactory(organization=org, disconnected=True)
        response = api.post(f"/api/v1/sessions/{session.id}/groups/sync")
        assert_error(response, 501, "not_implemented")

    def test_needs_send(self, client_for, org, session):
        response = client_for(org, "read").post(f"/api/v1/sessions/{session.id}/groups/sync")
        assert_error(response, 403, "forbidden")
