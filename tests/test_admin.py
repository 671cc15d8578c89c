"""The operator console through Django's test client: every page, action and the
show-once key flow, with query counts pinned on 200-row changelists."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from auth_app import keys
from auth_app.capabilities import Capability
from auth_app.models import ApiKey
from auth_app.services import api_key_issue
from groups_app.models import Group
from sessions_app.models import Engine, SessionStatus, WhatsAppSession
from tests.factories import (
    GroupFactory,
    GroupParticipantFactory,
    OrganizationFactory,
    WhatsAppSessionFactory,
)


@pytest.fixture
def staff(db) -> Client:
    user = User.objects.create_superuser("operator", "ops@example.com", "pw-operator-1")
    client = Client()
    client.force_login(user)
    return client


def changelist(model: str) -> str:
    return reverse(f"admin:{model}_changelist")


@pytest.mark.django_db
class TestAccess:
    def test_anonymous_is_sent_to_login(self):
        response = Client().get(reverse("admin:index"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_non_staff_cannot_enter(self):
        User.objects.create_user("someone", password="pw-someone-1")
        client = Client()
        client.login(username="someone", password="pw-someone-1")
        assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.django_db
class TestDashboard:
    def test_counts_by_status_recent_troubles_and_organizations(self, staff):
        acme = OrganizationFactory(slug="acme")
        WhatsAppSessionFactory.create_batch(3, organization=acme)
        down = WhatsAppSessionFactory(
            organization=acme,
            name="Support line",
            disconnected=True,
            status_reason="connection failed: no route to host",
        )
        GroupFactory.create_batch(2, session=down)
        api_key_issue(organization=acme, capabilities=frozenset({Capability.READ}))

        page = staff.get(reverse("admin:index")).content.decode()

        assert "3 of 4 numbers connected" in page
        assert "Support line" in page and "connection failed: no route to host" in page
        assert "status-disconnected" in page
        organizations = page[page.index("<h2>Organizations</h2>") :]
        row = organizations[organizations.index(">acme<") :][:300]
        assert "<td>4</td><td>2</td><td>1</td>" in row

    def test_dashboard_queries_do_not_grow_with_data(self, staff, django_assert_max_num_queries):
        for _n in range(20):
            organization = OrganizationFactory()
            WhatsAppSessionFactory(organization=organization, disconnected=True)
        with django_assert_max_num_queries(12):
            assert staff.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
class TestChangelistsStayFast:
    """200 rows each; the count is the same as with a handful (no per-row queries)."""

    @pytest.mark.parametrize(
        ("model", "make"),
        [
            ("sessions_app_whatsappsession", lambda: WhatsAppSessionFactory.create_batch(200)),
            ("groups_app_group", lambda: GroupFactory.create_batch(200)),
            (
                "auth_app_organization",
                lambda: [GroupFactory(session=WhatsAppSessionFactory()) for _ in range(200)],
            ),
            (
                "auth_app_apikey",
                lambda: [
                    api_key_issue(
                        organization=OrganizationFactory(),
                        capabilities=frozenset({Capability.READ}),
                    )
                    for _ in range(200)
                ],
            ),
        ],
    )
    def test_query_count(self, staff, model, make, django_assert_max_num_queries):
        make()
        with django_assert_max_num_queries(12):
            response = staff.get(changelist(model))
        assert response.status_code == 200
        assert response.context["cl"].result_count == 200


@pytest.mark.django_db
class TestSessions:
    def test_list_shows_badge_reason_and_filters(self, staff):
        WhatsAppSessionFactory(name="Main line")
        WhatsAppSessionFactory(name="Backup", disconnected=True, status_reason="stream replaced")
        page = staff.get(changelist("sessions_app_whatsappsession")).content.decode()
        assert '<span class="badge status-connected">Connected</span>' in page
        assert "stream replaced" in page
        filtered = staff.get(
            changelist("sessions_app_whatsappsession") + "?status__exact=disconnected"
        )
        assert (
            "Backup" in filtered.content.decode() and "Main line" not in filtered.content.decode()
        )

    def test_search_by_jid(self, staff):
        session = WhatsAppSessionFactory(name="Findme")
        WhatsAppSessionFactory(name="Other")
        page = staff.get(changelist("sessions_app_whatsappsession") + f"?q={session.jid}")
        assert "Findme" in page.content.decode() and "Other" not in page.content.decode()

    def test_detail_shows_stored_groups_and_connection_history(self, staff):
        from sessions_app.transitions import session_record_status

        session = WhatsAppSessionFactory()
        GroupFactory(session=session, subject="Night shift")
        session_record_status(
            session_id=session.id, status=SessionStatus.DISCONNECTED, reason="keepalive timeout"
        )
        page = staff.get(reverse("admin:sessions_app_whatsappsession_change", args=[session.pk]))
        assert page.status_code == 200
        assert "Night shift" in page.content.decode()
        assert "connection history" in page.content.decode().lower()
        assert "keepalive timeout" in page.content.decode()

    def action(self, staff, name, sessions, confirmed="yes"):
        """Runs an action; destructive ones are confirmed (test_sync_and_logout_actions
        shows the confirmation page itself)."""
        return staff.post(
            changelist("sessions_app_whatsappsession"),
            {"action": name, "_selected_action": [s.pk for s in sessions], "confirmed": confirmed},
            follow=True,
        )

    def test_connect_action(self, staff):
        session = WhatsAppSessionFactory(fresh=True)
        response = self.action(staff, "connect", [session])
        assert messages_of(response)[0].endswith(": connected")
        session.refresh_from_db()
        assert session.status == SessionStatus.CONNECTED
        again = self.action(staff, "connect", [session])
        assert messages_of(again)[0].endswith(": already connected")

    def test_sync_and_logout_actions(self, staff):
        session = WhatsAppSessionFactory()
        page = self.action(staff, "sync_groups", [session]).content.decode()
        assert "0 groups stored, 0 removed" in page
        # Logging out unlinks the number: the operator confirms on a page that says so.
        page = self.action(staff, "log_out", [session], confirmed="").content.decode()
        assert "Log these sessions out?" in page and "pairs it again" in page
        session.refresh_from_db()
        assert session.status != SessionStatus.LOGGED_OUT
        page = staff.post(
            changelist("sessions_app_whatsappsession"),
            {"action": "log_out", "_selected_action": [session.pk], "confirmed": "yes"},
            follow=True,
        ).content.decode()
        assert "logged_out" in page
        session.refresh_from_db()
        assert session.status == SessionStatus.LOGGED_OUT

    def test_runner_down_is_a_message_not_a_500(self, staff):
        session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP)
        response = self.action(staff, "connect", [session])
        assert response.status_code == 200
        assert "session runner cannot be reached" in response.content.decode()

    def test_action_refused_by_state_is_a_warning(self, staff):
        session = WhatsAppSessionFactory(disconnected=True)
        page = self.action(staff, "log_out", [session]).content.decode()
        assert "session is not connected" in page


@pytest.mark.django_db
class TestGroups:
    def test_read_only_with_participants_and_their_add_result(self, staff):
        group = GroupFactory(subject="Team")
        GroupParticipantFactory(group=group, jid="15554030001@s.whatsapp.net", add_error=403)
        page = staff.get(reverse("admin:groups_app_group_change", args=[group.pk])).content.decode()
        assert "needs invite (privacy settings)" in page
        assert 'name="subject"' not in page  # no editable field
        assert staff.get(reverse("admin:groups_app_group_add")).status_code == 403

    def test_members_and_the_people_not_added_are_shown_apart(self, staff):
        """Someone WhatsApp skipped is not a member: no role, listed under "not added"."""
        group = GroupFactory(subject="Team")
        GroupParticipantFactory(group=group, jid="15551230001@s.whatsapp.net", is_admin=True)
        GroupParticipantFactory(group=group, jid="15554030001@s.whatsapp.net", add_error=403)
        GroupParticipantFactory(group=group, jid="15554040001@s.whatsapp.net", add_error=404)
        page = staff.get(reverse("admin:groups_app_group_change", args=[group.pk]))
        inlines = {
            str(formset.opts.verbose_name_plural): [
                str(form.instance.jid) for form in formset.formset
            ]
            for formset in page.context["inline_admin_formsets"]
        }
        assert inlines == {
            "members": ["15551230001@s.whatsapp.net"],
            "not added by WhatsApp": ["15554030001@s.whatsapp.net", "15554040001@s.whatsapp.net"],
        }
        text = page.content.decode()
        assert "not on WhatsApp" in text and "admin" in text

    def test_filter_by_session_and_search(self, staff):
        mine = GroupFactory(subject="Alpha")
        GroupFactory(subject="Beta")
        page = staff.get(changelist("groups_app_group") + f"?session__id__exact={mine.session_id}")
        assert "Alpha" in page.content.decode() and "Beta" not in page.content.decode()
        page = staff.get(changelist("groups_app_group") + "?q=Beta")
        assert "Beta" in page.content.decode() and "Alpha" not in page.content.decode()


@pytest.mark.django_db
class TestApiKeys:
    def test_issue_shows_the_key_once_and_never_again(self, staff):
        organization = OrganizationFactory(slug="acme")
        response = staff.post(
            reverse("admin:auth_app_apikey_add"),
            {"organization": organization.pk, "name": "ci", "can_read": "on", "can_send": "on"},
        )
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        page = response.content.decode()
        token = page.split('id="api-key-secret"')[1].split(">", 1)[1].split("<", 1)[0]
        assert keys.parse(token) is not None
        api_key = ApiKey.objects.get()
        assert api_key.capabilities == {"read", "send"}
        assert api_key.secret_hash == keys.hash_key(token)

        for url in (
            changelist("auth_app_apikey"),
            reverse("admin:auth_app_apikey_change", args=[api_key.pk]),
        ):
            later = staff.get(url).content.decode()
            assert token not in later
            assert api_key.secret_hash not in later
            assert api_key.display in later

    def test_needs_a_capability(self, staff):
        organization = OrganizationFactory()
        response = staff.post(
            reverse("admin:auth_app_apikey_add"), {"organization": organization.pk, "name": "x"}
        )
        assert "at least one capability" in response.content.decode()
        assert not ApiKey.objects.exists()

    def test_revoke_action(self, staff):
        issued = api_key_issue(
            organization=OrganizationFactory(), capabilities=frozenset({Capability.READ})
        )
        asked = staff.post(
            changelist("auth_app_apikey"),
            {"action": "revoke", "_selected_action": [issued.api_key.pk]},
        )
        assert "Revoke these API keys?" in asked.content.decode()
        issued.api_key.refresh_from_db()
        assert issued.api_key.revoked_at is None  # not before the operator confirms
        staff.post(
            changelist("auth_app_apikey"),
            {"action": "revoke", "_selected_action": [issued.api_key.pk], "confirmed": "yes"},
        )
        issued.api_key.refresh_from_db()
        assert issued.api_key.revoked_at is not None
        assert "revoked" in staff.get(changelist("auth_app_apikey")).content.decode()


def messages_of(response) -> list[str]:
    import re

    return re.findall(r'<li class="[a-z]+">([^<]*)</li>', response.content.decode())


def test_each_model_has_the_apps_own_admin():
    """Registered with the app's ModelAdmin (its columns, filters and actions), not a
    bare default one."""
    from django.contrib import admin

    from auth_app.admin import ApiKeyAdmin, OrganizationAdmin
    from auth_app.models import ApiKey, Organization
    from groups_app.admin import GroupAdmin
    from messages_app.admin import MessageAdmin
    from messages_app.models import Message
    from sessions_app.admin import LiveActionRecordAdmin, WhatsAppSessionAdmin
    from sessions_app.models import LiveActionRecord

    expected = {
        Organization: OrganizationAdmin,
        ApiKey: ApiKeyAdmin,
        WhatsAppSession: WhatsAppSessionAdmin,
        LiveActionRecord: LiveActionRecordAdmin,
        Group: GroupAdmin,
        Message: MessageAdmin,
    }
    assert {model: type(admin.site._registry.get(model)) for model in expected} == expected


@pytest.mark.django_db
def test_adding_a_session_in_the_admin_uses_the_service(staff):
    organization = OrganizationFactory()
    response = staff.post(
        reverse("admin:sessions_app_whatsappsession_add"),
        {
            "organization": organization.pk,
            "name": "Added by ops",
            "engine": "sandbox",
            "groups-TOTAL_FORMS": "0",
            "groups-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    session = WhatsAppSession.objects.get(name="Added by ops")
    assert (session.engine, session.status, len(session.id)) == ("sandbox", "new", 26)


@pytest.mark.django_db
class TestWebhookEndpointForm:
    """The admin saves only what the API would: one rule for a URL and its events."""

    @pytest.fixture
    def endpoint(self, org):
        from webhooks_app.models import WebhookEndpoint

        return WebhookEndpoint.objects.create(
            organization=org, url="https://8.8.8.8/hook", events=["*"], secret="whsec_dGVzdA=="
        )

    def change(self, staff, endpoint, **fields):
        url = reverse("admin:webhooks_app_webhookendpoint_change", args=[endpoint.pk])
        form = {"url": endpoint.url, "events": ["*"], "description": "", "enabled": "on"}
        return staff.post(url, {**form, **fields})

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("url", "http://169.254.169.254/latest/meta-data"),
            ("url", "ftp://8.8.8.8/hook"),
            ("url", "http://example.com:99999/"),
            ("events", ["bogus.event", "42"]),
            ("events", ['"group.created"']),
            ("events", []),
        ],
    )
    def test_what_the_api_refuses_is_not_saved(self, staff, endpoint, settings, field, value):
        settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = False
        response = self.change(staff, endpoint, **{field: value})
        assert response.status_code == 200  # the form again, with the error
        assert response.context["adminform"].form.errors.get(field), response.context[
            "adminform"
        ].form.errors
        endpoint.refresh_from_db()
        assert (endpoint.url, endpoint.events) == ("https://8.8.8.8/hook", ["*"])

    def test_what_the_api_accepts_is_saved(self, staff, endpoint, settings):
        settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = False
        response = self.change(
            staff, endpoint, url="https://1.1.1.1/other", events=["group.created", "group.left"]
        )
        assert response.status_code == 302
        endpoint.refresh_from_db()
        assert (endpoint.url, endpoint.events) == (
            "https://1.1.1.1/other",
            ["group.created", "group.left"],
        )

    def test_the_events_are_a_checklist_and_the_title_names_the_organization(self, staff, endpoint):
        from webhooks_app.events import EVENT_TYPES

        url = reverse("admin:webhooks_app_webhookendpoint_change", args=[endpoint.pk])
        text = staff.get(url).content.decode()
        for name in ["*", *EVENT_TYPES]:
            assert f'type="checkbox" name="events" value="{name}"' in text
        assert "<textarea" not in text.split('name="events"')[0][-300:]
        assert f"{endpoint.url} ({endpoint.organization.name})" in text
        assert f"({endpoint.organization_id})" not in text

    def test_disabling_in_the_admin_pauses_its_deliveries_and_enabling_resumes(
        self, staff, endpoint
    ):
        from webhooks_app.events import record_event
        from webhooks_app.models import WebhookDelivery

        record_event(organization_id=endpoint.organization_id, event_type="webhook.test", data={})
        form = {"url": endpoint.url, "events": ["*"], "description": ""}
        url = reverse("admin:webhooks_app_webhookendpoint_change", args=[endpoint.pk])
        assert staff.post(url, form).status_code == 302  # "enabled" unticked
        assert WebhookDelivery.objects.get().status == "paused"
        assert staff.post(url, {**form, "enabled": "on"}).status_code == 302
        assert WebhookDelivery.objects.get().status == "pending"


@pytest.mark.django_db
class TestDeliveryPage:
    """A delivery's page: every attempt, the body sent, and a button to send it again."""

    def test_attempts_body_and_the_retry_button(self, staff, org):
        from webhooks_app.delivery import Outcome, claim_due, record
        from webhooks_app.events import record_event
        from webhooks_app.models import WebhookDelivery, WebhookEndpoint

        WebhookEndpoint.objects.create(
            organization=org, url="https://8.8.8.8/hook", events=["*"], secret="whsec_dGVzdA=="
        )
        record_event(organization_id=org.pk, event_type="webhook.test", data={"probe": 7})
        (claimed,) = claim_due(limit=1)
        record([(claimed, Outcome(False, 503, "answered HTTP 503", response_body="busy now"))])
        delivery = WebhookDelivery.objects.get()
        page = staff.get(reverse("admin:webhooks_app_webhookdelivery_change", args=[delivery.pk]))
        text = page.content.decode()
        assert "answered HTTP 503" in text and "busy now" in text
        assert "&quot;probe&quot;: 7" in text  # the body sent
        retry_url = reverse("admin:webhooks_app_webhookdelivery_retry", args=[delivery.pk])
        assert retry_url in text
        assert staff.get(retry_url).status_code == 403  # only a POST sends
        answer = staff.post(retry_url, follow=True)
        assert "Queued to be sent again now." in answer.content.decode()
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.next_attempt_at <= timezone.now()

    def test_the_list_shows_times_and_the_organization(self, staff, org):
        from webhooks_app.events import record_event
        from webhooks_app.models import WebhookEndpoint

        WebhookEndpoint.objects.create(
            organization=org, url="https://8.8.8.8/hook", events=["*"], secret="whsec_dGVzdA=="
        )
        record_event(organization_id=org.pk, event_type="webhook.test", data={})
        page = staff.get(changelist("webhooks_app_webhookdelivery"))
        headers = [str(header["text"]).lower() for header in page.context["result_headers"]]
        for column in ("attempts", "last status code", "created at", "next attempt at"):
            assert column in headers, headers
        assert "organization" in headers
        assert org.slug in page.content.decode()


@pytest.mark.django_db
class TestDashboardPermissions:
    """Each block of the first page shows only with the view permission of what it
    lists; staff without any see none of it."""

    @pytest.fixture
    def world(self, org):
        from django.utils import timezone

        from sessions_app.models import Runner

        WhatsAppSessionFactory(
            organization=org, name="Secret Sales", disconnected=True, status_reason="why-xyz"
        )
        now = timezone.now()
        Runner.objects.create(
            id="runner-secret",
            url="http://10.9.8.7:8001",
            capacity=5,
            load=1,
            started_at=now,
            heartbeat_at=now,
        )

    def staff_with(self, *codenames: str) -> Client:
        from django.contrib.auth.models import Permission

        name = "limited-" + "-".join(codenames)
        user = User.objects.create_user(name, password="pw-limited-1", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        client = Client()
        client.force_login(user)
        return client

    def page(self, client: Client) -> str:
        response = client.get(reverse("admin:index"))
        assert response.status_code == 200
        return response.content.decode()

    @pytest.mark.usefixtures("world")
    def test_staff_without_permissions_see_nothing_of_it(self):
        page = self.page(self.staff_with())
        for secret in ("Secret Sales", "why-xyz", "runner-secret", "10.9.8.7", "acme"):
            assert secret not in page

    @pytest.mark.usefixtures("world")
    def test_each_block_with_its_permission(self):
        page = self.page(self.staff_with("view_whatsappsession"))
        assert "Secret Sales" in page and "why-xyz" in page
        assert "runner-secret" not in page and "<h2>Session runners</h2>" not in page
        assert "<h2>Organizations</h2>" not in page
        page = self.page(self.staff_with("view_runner", "view_organization"))
        assert "runner-secret" in page and "10.9.8.7" in page and "<h2>Organizations</h2>" in page
        assert "Secret Sales" not in page and "<h2>Numbers</h2>" not in page


@pytest.mark.django_db
class TestSendBudgetAndMessages:
    def test_the_session_page_shows_the_budget_and_its_use_and_saves_a_new_one(self, staff):
        from sessions_app.send_budget import charge

        session = WhatsAppSessionFactory(engine=Engine.WHATSAPP)
        assert charge(session=session, amount=3) is True
        url = reverse("admin:sessions_app_whatsappsession_change", args=[session.pk])
        page = staff.get(url).content.decode()
        # whatsapp's default (a quarter during the warm-up, at least 1: 5 and 250).
        assert "3 of 5 this minute; 3 of 250 this day" in page
        saved = staff.post(
            url,
            {
                "name": session.name,
                "send_budget_per_minute": "7",
                "send_budget_per_day": "70",
                "events-TOTAL_FORMS": "0",
                "events-INITIAL_FORMS": "0",
                "groups-TOTAL_FORMS": "0",
                "groups-INITIAL_FORMS": "0",
            },
        )
        assert saved.status_code == 302, saved.content.decode()[:2000]
        session.refresh_from_db()
        assert (session.send_budget_per_minute, session.send_budget_per_day) == (7, 70)
        assert "3 of 7 this minute; 3 of 70 this day" in staff.get(url).content.decode()

    def test_messages_are_listed_read_only_without_their_media_keys(self, staff, session):
        from messages_app.models import Message

        message = Message.objects.create(
            session=session,
            chat="15551230001@s.whatsapp.net",
            message_id="3EB0ADMIN",
            sender="15551230001@s.whatsapp.net",
            kind="image",
            media={
                "mimetype": "image/jpeg",
                "size": 10,
                "filename": "",
                "caption": "hi",
                "download": {"mediaKey": "U0VDUkVULUtFWQ=="},
            },
            timestamp=timezone.now(),
        )
        listed = staff.get(changelist("messages_app_message"), {"q": "3EB0ADMIN"})
        assert listed.status_code == 200 and listed.context["cl"].result_count == 1
        page = staff.get(reverse("admin:messages_app_message_change", args=[message.pk]))
        text = page.content.decode()
        assert page.status_code == 200 and "image/jpeg" in text
        assert "U0VDUkVULUtFWQ==" not in text and "mediaKey" not in text
        assert staff.get(reverse("admin:messages_app_message_add")).status_code == 403


@pytest.mark.django_db
def test_the_dashboard_shows_webhook_health(staff, org):
    """Dead, retrying and paused deliveries and disabled endpoints, each a link to them."""
    from webhooks_app.events import record_event
    from webhooks_app.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        organization=org, url="https://8.8.8.8/hook", events=["*"], secret="whsec_dGVzdA=="
    )
    for _ in range(3):
        record_event(organization_id=org.pk, event_type="webhook.test", data={})
    first, second, third = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.filter(pk__in=[first.pk, second.pk]).update(status="dead")
    WebhookDelivery.objects.filter(pk=third.pk).update(status="retrying")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    page = staff.get(reverse("admin:index"))
    tiles = {tile["key"]: tile["count"] for tile in page.context["dashboard"]["webhooks"]}
    assert tiles == {"dead": 2, "retrying": 1, "paused": 0, "disabled": 1}
    text = page.content.decode()
    assert changelist("webhooks_app_webhookdelivery") + "?status__exact=dead" in text
    assert changelist("webhooks_app_webhookendpoint") + "?enabled__exact=0" in text


@pytest.mark.django_db
def test_the_session_page_links_its_groups_and_has_its_action_buttons(staff):
    session = WhatsAppSessionFactory(disconnected=True)
    group = GroupFactory(session=session, subject="Linked group")
    page = staff.get(reverse("admin:sessions_app_whatsappsession_change", args=[session.pk]))
    text = page.content.decode()
    group_url = reverse("admin:groups_app_group_change", args=[group.pk])
    assert f'<a href="{group_url}">Linked group</a>' in text
    for name, label in (
        ("connect", "Connect"),
        ("sync_groups", "Sync groups"),
        ("log_out", "Log out"),
    ):
        assert f'name="action" value="{name}"' in text and f">{label}</button>" in text
    # A button posts the list's action for this session: Connect connects the sandbox.
    answer = staff.post(
        changelist("sessions_app_whatsappsession"),
        {"action": "connect", "_selected_action": [session.pk], "index": "0"},
        follow=True,
    )
    assert "connected" in answer.content.decode()
    session.refresh_from_db()
    assert session.status == "connected"
    # Log out asks first, as from the list.
    asked = staff.post(
        changelist("sessions_app_whatsappsession"),
        {"action": "log_out", "_selected_action": [session.pk], "index": "0"},
    )
    assert "Log these sessions out?" in asked.content.decode()


def test_the_session_page_shows_when_a_failing_connection_is_retried(staff):
    session = WhatsAppSessionFactory(disconnected=True, desired_connected=True)
    url = reverse("admin:sessions_app_whatsappsession_change", args=[session.pk])
    at = timezone.now() + timedelta(seconds=95)
    WhatsAppSession.objects.filter(pk=session.pk).update(next_retry_at=at)
    text = staff.get(url).content.decode()
    assert "Next retry" in text
    assert f"at {at:%H:%M:%S} UTC" in text
    assert re.search(r"in 1 min 3[45] s", text)

    # Past due: the runner is on it; connected or no longer wanted: nothing to show.
    WhatsAppSession.objects.filter(pk=session.pk).update(
        next_retry_at=timezone.now() - timedelta(seconds=5)
    )
    assert "due since" in staff.get(url).content.decode()
    WhatsAppSession.objects.filter(pk=session.pk).update(desired_connected=False)
    assert "due since" not in staff.get(url).content.decode()
