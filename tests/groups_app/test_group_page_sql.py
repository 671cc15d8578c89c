"""The list's page is read in SQL (``group_page``) and paged by ``paginate_window``;
every answer must be the one DRF's cursor pagination gives for the equivalent queryset:
the same rows, and the same next and previous links, from any cursor, crafted or not."""

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from gateway.pagination import GatewayCursorPagination, KeysetWindow
from groups_app.models import Group
from groups_app.selectors import group_page
from groups_app.serializers import GROUP_INFO_SOURCES
from tests.factories import GroupFactory, OrganizationFactory, WhatsAppSessionFactory

FIELDS = tuple(GROUP_INFO_SOURCES.values())
URL = "http://testserver/api/v1/sessions/s/groups"


def request_for(query: dict[str, str]) -> Request:
    return Request(APIRequestFactory().get(URL + ("?" + urlencode(query) if query else "")))


def cursor(offset: int, reverse: bool, position: int | None) -> str:
    parts = {"o": str(offset)} if offset else {}
    if reverse:
        parts["r"] = "1"
    if position is not None:
        parts["p"] = str(position)
    return base64.b64encode(urlencode(parts).encode()).decode()


def cursor_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["cursor"][0]


def by_the_orm(session: Any, query: dict[str, str]) -> dict[str, Any]:
    paginator = GatewayCursorPagination()
    rows = Group.objects.filter(session=session).order_by("-id").values("id", *FIELDS)
    page = paginator.paginate_queryset(rows, request_for(query)) or []
    return paginator.get_paginated_response([row["id"] for row in page]).data


def by_the_window(session: Any, query: dict[str, str]) -> dict[str, Any]:
    paginator = GatewayCursorPagination()
    page = paginator.paginate_window(
        lambda window: group_page(
            organization=session.organization, session_id=session.id, fields=FIELDS, window=window
        ),
        request_for(query),
        model=Group,
    )
    return paginator.get_paginated_response([row["id"] for row in page]).data


@pytest.mark.django_db
def test_every_cursor_gives_the_same_page_and_links_as_drf():
    session = WhatsAppSessionFactory()
    WhatsAppSessionFactory(organization=session.organization)  # and its groups, not listed
    ids = [GroupFactory(session=session).id for _ in range(7)]
    GroupFactory(session=WhatsAppSessionFactory(organization=session.organization))
    gaps = [min(ids) - 1, max(ids) + 1, ids[3] + 0]

    queries: list[dict[str, str]] = [{}]
    for limit in ("1", "2", "3", "7", "50"):
        queries.append({"limit": limit})
        for position in [*ids, *gaps, None]:
            for reverse in (False, True):
                for offset in (0, 1, 3):
                    queries.append({"limit": limit, "cursor": cursor(offset, reverse, position)})
    compared = 0
    for query in queries:
        expected = by_the_orm(session, query)
        assert by_the_window(session, query) == expected, query
        compared += 1
    assert compared == len(queries) > 200


@pytest.mark.django_db
def test_walking_next_then_previous_visits_every_group_once_each_way():
    session = WhatsAppSessionFactory()
    ids = [GroupFactory(session=session).id for _ in range(5)]

    forward: list[int] = []
    query: dict[str, str] = {"limit": "2"}
    last: dict[str, Any] = {}
    while True:
        last = by_the_window(session, query)
        forward += last["results"]
        if not last["next"]:
            break
        query = {"limit": "2", "cursor": cursor_of(last["next"])}
    assert forward == sorted(ids, reverse=True)

    backward: list[int] = []
    page = last
    while page["previous"]:
        query = {"limit": "2", "cursor": cursor_of(page["previous"])}
        page = by_the_window(session, query)
        backward = page["results"] + backward
    assert backward + last["results"] == sorted(ids, reverse=True)


@pytest.mark.django_db
def test_the_page_is_the_organizations_only():
    session = WhatsAppSessionFactory()
    GroupFactory(session=session)
    window = KeysetWindow(position=None, ascending=False, offset=0, limit=10)

    def rows_for(organization: Any) -> list[dict[str, Any]]:
        return group_page(
            organization=organization, session_id=session.id, fields=FIELDS, window=window
        )

    assert len(rows_for(session.organization)) == 1
    assert rows_for(OrganizationFactory()) == []
