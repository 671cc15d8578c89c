from collections.abc import Callable
from datetime import datetime

import pytest
from rest_framework.test import APIClient

from auth_app.capabilities import parse_capabilities
from auth_app.models import Organization
from auth_app.services import api_key_issue
from gateway import throttling
from sessions_app import routing
from sessions_app.models import WhatsAppSession
from tests.factories import OrganizationFactory, WhatsAppSessionFactory


@pytest.fixture(autouse=True)
def _fresh_in_process_runner():
    """Each test starts with a runner supervisor that holds no live session."""
    yield
    routing.reset_in_process()


@pytest.fixture(autouse=True)
def _fresh_anonymous_windows():
    """Every test client calls from 127.0.0.1: each test starts with that address's
    unauthenticated budget unspent."""
    throttling.reset_local_windows()


@pytest.fixture
def org(db) -> Organization:
    return OrganizationFactory(slug="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return OrganizationFactory(slug="globex")


@pytest.fixture
def issue_token(db) -> Callable[..., str]:
    """Issues a real API key through the service and returns the secret."""

    def issue(
        organization: Organization,
        capabilities: str = "read,send,manage",
        expires_at: datetime | None = None,
    ) -> str:
        return api_key_issue(
            organization=organization,
            capabilities=parse_capabilities(capabilities),
            expires_at=expires_at,
        ).token

    return issue


@pytest.fixture
def client_for(issue_token) -> Callable[..., APIClient]:
    """An API client authenticated with a fresh key of the organization."""

    def make(organization: Organization, capabilities: str = "read,send,manage") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(organization, capabilities)}")
        return client

    return make


@pytest.fixture
def api(org, client_for) -> APIClient:
    return client_for(org)


@pytest.fixture
def session(org) -> WhatsAppSession:
    return WhatsAppSessionFactory(organization=org)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
