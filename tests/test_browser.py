"""The operator console in a real browser: headless Chromium (Debian's) against a live
server. Screenshots land in a temporary folder, or in docs/img/ (the README's operator
guide) when `make screenshots` sets GATEWAY_SCREENSHOTS_DIR.

Without Chromium these tests skip with a message; with GATEWAY_BROWSER_TESTS=required
(set by .ci/run, which installs the browser) a missing browser is a failure.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from auth_app import keys
from auth_app.models import ApiKey
from sessions_app.models import SessionStatus
from sessions_app.transitions import session_record_status
from tests.factories import GroupFactory, OrganizationFactory, WhatsAppSessionFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(
    os.environ.get("GATEWAY_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "gateway-screenshots"
).resolve()

if not (CHROMIUM and CHROMEDRIVER):
    message = "Chromium and chromedriver not found (apt-get install chromium chromium-driver)"
    if os.environ.get("GATEWAY_BROWSER_TESTS") == "required":
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="gateway-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def shot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def log_in(browser, live_server, username: str, password: str) -> None:
    """Through the console's login form, until the dashboard is there."""
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.ID, "gateway-dashboard"))
    )


def text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


@pytest.mark.django_db(transaction=True)
def test_operator_walkthrough(browser, live_server):
    User.objects.create_superuser("operator", "ops@example.com", "a-long-operator-password")
    acme = OrganizationFactory(slug="acme", name="Acme")
    main = WhatsAppSessionFactory(organization=acme, name="Main line")
    WhatsAppSessionFactory(
        organization=acme,
        name="Backup line",
        disconnected=True,
        status_reason="connection failed: no route to host",
    )
    for subject in ("Night shift", "Sales team", "Support"):
        GroupFactory(session=main, subject=subject, participant_count=5)
    GroupFactory(session=WhatsAppSessionFactory(organization=acme), subject="Elsewhere")
    wait = WebDriverWait(browser, 15)

    # Log in as staff.
    log_in(browser, live_server, "operator", "a-long-operator-password")

    # The dashboard: numbers by status, the one that is down and why, tenants.
    page = text(browser)
    assert "2 of 3 numbers connected" in page
    assert "Backup line" in page and "connection failed: no route to host" in page
    shot(browser, "dashboard")

    # The sessions list: a connected and a disconnected number with its reason.
    browser.get(f"{live_server.url}/admin/sessions_app/whatsappsession/")
    page = text(browser)
    assert "Main line" in page and "Backup line" in page
    badges = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".badge")]
    assert "Connected" in badges and "Disconnected" in badges
    assert "connection failed: no route to host" in page
    shot(browser, "sessions")

    # One session's page: its connection history and its stored groups.
    session_record_status(
        session_id=main.id,
        status=SessionStatus.DISCONNECTED,
        reason="connection lost; reconnecting automatically",
    )
    session_record_status(session_id=main.id, status=SessionStatus.CONNECTED)
    browser.set_window_size(1400, 1900)
    browser.get(f"{live_server.url}/admin/sessions_app/whatsappsession/{main.pk}/change/")
    page = text(browser)
    assert "Night shift" in page and "Sales team" in page and "Elsewhere" not in page
    assert "connection lost; reconnecting automatically" in page
    shot(browser, "session")
    browser.set_window_size(1400, 1000)

    # The groups list filtered to that session.
    browser.get(f"{live_server.url}/admin/groups_app/group/?session__id__exact={main.pk}")
    page = text(browser)
    assert "3 WhatsApp groups" in page
    assert "Support" in page and "Elsewhere" not in page
    shot(browser, "groups")

    # Issue an API key: the secret is shown once.
    browser.get(f"{live_server.url}/admin/auth_app/apikey/add/")
    Select(browser.find_element(By.NAME, "organization")).select_by_visible_text("acme")
    browser.find_element(By.NAME, "name").send_keys("billing service")
    browser.find_element(By.NAME, "can_read").click()
    browser.find_element(By.NAME, "can_send").click()
    browser.find_element(By.NAME, "_save").click()
    secret = wait.until(
        expected_conditions.presence_of_element_located((By.ID, "api-key-secret"))
    ).text
    assert keys.parse(secret) is not None
    api_key = ApiKey.objects.get(name="billing service")
    assert keys.matches(secret, api_key.secret_hash)
    assert "only time it is shown" in text(browser)
    shot(browser, "api-key-issued")

    browser.get(f"{live_server.url}/admin/auth_app/apikey/{api_key.pk}/change/")
    assert secret not in browser.page_source
    assert api_key.display in text(browser)


OVERFLOWING_TABLES = """
return [...document.querySelectorAll('#content table')]
    .filter(t => t.offsetParent !== null)
    .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
    .map(t => (t.id || 'table') + ' ' + t.scrollWidth + '>' + t.parentElement.clientWidth);
"""


@pytest.mark.django_db(transaction=True)
def test_the_console_fits_confirms_and_collapses(browser, live_server):
    """At 1400 by 1000: no list or dashboard table runs off its box; logging out asks first;
    a session failing the same way again and again shows one history row with a count."""
    from sessions_app.models import LiveActionRecord

    User.objects.create_superuser("viewer", "v@example.com", "another-long-password")
    acme = OrganizationFactory(slug="a-rather-long-organization-slug", name="Acme")
    failing = WhatsAppSessionFactory(organization=acme, name="Flaky line")
    reason = (
        "connection failed: failed to dial whatsapp web websocket: dial tcp: lookup "
        "web.whatsapp.com on 127.0.0.53:53: server misbehaving — retrying with backoff "
        "until the network comes back, which may take a while on this host"
    )
    for _ in range(6):  # every retry: connecting, then the same failure
        session_record_status(
            session_id=failing.id, status=SessionStatus.CONNECTING, reason="dialling"
        )
        session_record_status(
            session_id=failing.id, status=SessionStatus.DISCONNECTED, reason=reason
        )
    for n in range(12):
        GroupFactory(session=failing, subject=f"A fairly long group subject number {n}")
    for n in range(5):
        LiveActionRecord.objects.create(
            organization=acme,
            session_ref=failing.id,
            action="create_group",
            principal_kind="api_key",
            principal_id=str(n),
            fingerprint="f" * 64,
            idempotency_key=f"an-idempotency-key-that-is-quite-long-{n}",
        )
    from auth_app.capabilities import parse_capabilities
    from auth_app.services import api_key_issue

    api_key_issue(organization=acme, capabilities=parse_capabilities("read,send,manage"))
    from webhooks_app.events import record_event
    from webhooks_app.models import WebhookEndpoint

    WebhookEndpoint.objects.create(
        organization=acme,
        url="https://receiver.example.com/a/rather/long/path/for/whatsapp/events",
        events=["*"],
        secret="whsec_dGVzdA==",
    )
    for _ in range(3):
        record_event(organization_id=acme.pk, event_type="group.created", data={})
    browser.set_window_size(1400, 1000)
    log_in(browser, live_server, "viewer", "another-long-password")
    for path in (
        "/admin/",
        "/admin/sessions_app/whatsappsession/",
        "/admin/groups_app/group/",
        "/admin/sessions_app/liveactionrecord/",
        "/admin/auth_app/apikey/",
        "/admin/auth_app/organization/",
        "/admin/webhooks_app/webhookdelivery/",
    ):
        browser.get(f"{live_server.url}{path}")
        assert browser.execute_script(OVERFLOWING_TABLES) == [], path
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        ), path

    # The history: two rows (connecting, and the failure), each with its count.
    browser.get(f"{live_server.url}/admin/sessions_app/whatsappsession/{failing.pk}/change/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#events-group tbody tr.has_original")
    assert len(rows) == 2, [row.text for row in rows]
    assert any("6" in row.text for row in rows)

    # Logging out asks first, and says what it means.
    browser.get(f"{live_server.url}/admin/sessions_app/whatsappsession/")
    browser.find_element(
        By.CSS_SELECTOR, f"input[name=_selected_action][value='{failing.pk}']"
    ).click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("log_out")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    WebDriverWait(browser, 15).until(expected_conditions.title_contains("Log these sessions out"))
    page = text(browser)
    assert "Log these sessions out?" in page and "Flaky line" in page
    shot(browser, "confirm-log-out")
    failing.refresh_from_db()
    assert failing.status == SessionStatus.DISCONNECTED


NARROW_CELLS = """
return Array.from(document.querySelectorAll('#gateway-dashboard td'))
    .filter(cell => cell.offsetParent !== null && cell.textContent.trim().length > 12)
    .filter(cell => cell.getBoundingClientRect().width < 60)
    .map(cell => cell.textContent.trim().slice(0, 40) + ' ' + cell.getBoundingClientRect().width);
"""

SCROLLS_IN_ITS_BOX = """
const box = document.querySelector(arguments[0]);
const style = getComputedStyle(box);
return [style.overflowX, box.scrollWidth > box.clientWidth];
"""


@pytest.mark.django_db(transaction=True)
def test_at_phone_width_the_dashboard_fits_and_wide_lists_scroll(browser, live_server):
    """390 px: the dashboard is no wider than the screen, no reason is broken into a letter
    per line, and a list wider than the screen scrolls inside its own box (not cut)."""
    from webhooks_app.events import record_event
    from webhooks_app.models import WebhookEndpoint

    User.objects.create_superuser("phone", "p@example.com", "a-phone-operator-password")
    acme = OrganizationFactory(slug="a-rather-long-organization-slug", name="Acme")
    failing = WhatsAppSessionFactory(organization=acme, name="Flaky line")
    session_record_status(
        session_id=failing.id,
        status=SessionStatus.DISCONNECTED,
        reason="connection failed: failed to dial whatsapp web websocket: server misbehaving",
    )
    WebhookEndpoint.objects.create(
        organization=acme, url="https://8.8.8.8/hook", events=["*"], secret="whsec_dGVzdA=="
    )
    record_event(organization_id=acme.pk, event_type="webhook.test", data={})
    try:
        browser.set_window_size(390, 844)
        log_in(browser, live_server, "phone", "a-phone-operator-password")
        width = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        assert browser.execute_script(NARROW_CELLS) == []
        assert "Webhooks" in text(browser)
        shot(browser, "dashboard-390")
        for path in (
            "/admin/sessions_app/whatsappsession/",
            "/admin/webhooks_app/webhookdelivery/",
        ):
            browser.get(f"{live_server.url}{path}")
            overflow, wider = browser.execute_script(SCROLLS_IN_ITS_BOX, "#changelist .results")
            assert overflow == "auto", path
            assert wider, path  # the list is wider than a phone: it scrolls, in its box
            assert browser.execute_script("return document.documentElement.scrollWidth") <= (
                width
            ), path
    finally:
        browser.set_window_size(1400, 1000)


WIDEST = """
const limit = document.documentElement.clientWidth;
const wide = Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > limit + 1
        || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))
    .slice(-6)
    .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + e.scrollWidth + '/'
        + Math.round(e.getBoundingClientRect().right));
return [document.documentElement.scrollWidth, limit, wide];
"""

FITS = "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def shown(browser, css: str) -> list:
    return [
        element for element in browser.find_elements(By.CSS_SELECTOR, css) if element.is_displayed()
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_each_operator_page_works_at_desktop_and_phone_width(browser, live_server, width):
    """The pages an operator works in, one by one, at 1400 and at 390 px: each fits the
    screen (wide tables scroll in their own box) and shows what it is for — the session's
    group links, buttons and next retry; a group's members apart from those WhatsApp did
    not add; an endpoint's events as checkboxes; a delivery's attempts and its retry
    button; the landing page's links."""
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.models import WhatsAppSession
    from tests.factories import GroupParticipantFactory
    from webhooks_app.events import record_event
    from webhooks_app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

    User.objects.create_superuser("pages", "pages@example.com", "a-pages-operator-password")
    acme = OrganizationFactory(slug="a-rather-long-organization-slug", name="Acme")
    failing = WhatsAppSessionFactory(organization=acme, name="Flaky line", desired_connected=True)
    session_record_status(
        session_id=failing.id,
        status=SessionStatus.DISCONNECTED,
        reason="connection failed: failed to dial whatsapp web websocket: server misbehaving",
    )
    WhatsAppSession.objects.filter(pk=failing.pk).update(
        next_retry_at=timezone.now() + timedelta(minutes=4, seconds=30)
    )
    group = GroupFactory(session=failing, subject="Support team with a long subject")
    GroupParticipantFactory(group=group, jid="15550001111@s.whatsapp.net", is_admin=True)
    GroupParticipantFactory(group=group, jid="15550002222@s.whatsapp.net", add_error=403)
    endpoint = WebhookEndpoint.objects.create(
        organization=acme,
        url="https://receiver.example.com/a/rather/long/path/for/whatsapp/events",
        events=["group.created"],
        secret="whsec_dGVzdA==",
    )
    record_event(organization_id=acme.pk, event_type="group.created", data={"n": 1})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookAttempt.objects.create(
        delivery=delivery,
        started_at=timezone.now(),
        duration_ms=12,
        status_code=503,
        response_body="upstream is restarting, try again in a minute",
    )
    try:
        browser.set_window_size(width, 1000)
        log_in(browser, live_server, "pages", "a-pages-operator-password")

        def visit(path: str, name: str) -> str:
            browser.get(f"{live_server.url}{path}")
            assert browser.execute_script(FITS), (
                f"{path} is wider than {width} px: {browser.execute_script(WIDEST)}"
            )
            shot(browser, f"{name}-{width}")
            return text(browser)

        page = visit(f"/admin/sessions_app/whatsappsession/{failing.pk}/change/", "session")
        group_url = f"/admin/groups_app/group/{group.pk}/change/"
        assert shown(browser, f"a[href='{group_url}']"), "the stored group links to its page"
        for action in ("connect", "sync_groups", "log_out"):
            assert shown(browser, f"form.session-action:has(input[value='{action}']) button")
        retry = r"next retry:?\s+in 4 min (2\d|30) s, at \d\d:\d\d:\d\d UTC"
        assert re.search(retry, page, re.IGNORECASE), page

        page = visit(group_url, "group")
        headings = [h.text.upper() for h in shown(browser, ".inline-group h2")]
        assert "MEMBERS" in headings and "NOT ADDED BY WHATSAPP" in headings, headings
        blocks = {
            h.text.upper(): h.find_element(
                By.XPATH, "./ancestor::div[contains(@class,'inline-group')]"
            ).text
            for h in shown(browser, ".inline-group h2")
        }
        assert "15550001111" in blocks["MEMBERS"] and "15550002222" not in blocks["MEMBERS"]
        assert "15550002222" in blocks["NOT ADDED BY WHATSAPP"]

        visit(f"/admin/webhooks_app/webhookendpoint/{endpoint.pk}/change/", "endpoint")
        boxes = shown(browser, "input[type=checkbox][name=events]")
        assert len(boxes) > 5
        checked = [box.get_attribute("value") for box in boxes if box.is_selected()]
        assert checked == ["group.created"]

        page = visit(f"/admin/webhooks_app/webhookdelivery/{delivery.pk}/change/", "delivery")
        assert "503" in page and "upstream is restarting" in page
        assert [b for b in shown(browser, "button") if b.text.upper() == "SEND AGAIN NOW"]

        browser.get(f"{live_server.url}/")
        assert browser.execute_script(FITS)
        links = {a.text: a.get_attribute("href") for a in shown(browser, "a")}
        assert links["API documentation"].endswith("/api/docs/")
        assert links["OpenAPI schema"].endswith("/api/schema/")
        assert links["Operator console"].endswith("/admin/")
    finally:
        browser.set_window_size(1400, 1000)
