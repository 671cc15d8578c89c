"""A fleet member stepped on its own clock against the real lease statements (and the
test database): renewals on schedule, the grant a worker gets, and letting go when the
database cannot be reached in time — without sleeping."""

import pytest
from django.db import OperationalError

from sessions_app import leases
from sessions_app.models import SessionLease
from sessions_app.runner.fleet import FleetConfig, FleetMember
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)
LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Unreachable:
    """The real lease statements, until ``down`` is set: then each fails as a database
    that cannot be reached does."""

    def __init__(self) -> None:
        self.down = False

    def __getattr__(self, name: str):
        statement = getattr(leases, name)

        def run(*args, **kwargs):
            if self.down:
                raise OperationalError("could not connect to server")
            return statement(*args, **kwargs)

        return run


def member_on(clock: Clock, store=leases) -> FleetMember:
    config = FleetConfig("stepped", "http://127.0.0.1:1", capacity=10, lease_seconds=LEASE)
    return FleetMember(config, clock=clock, store=store)


def expiry(session_id: str):
    return SessionLease.objects.get(session_id=session_id).expires_at


def test_leases_are_renewed_every_third_of_a_lease(org):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    clock = Clock()
    member = member_on(clock)
    run, lost = member.tick()
    assert (run, lost) == ({session.id}, set())
    first = expiry(session.id)

    clock.now += LEASE / 3 - 1
    member.tick()
    assert expiry(session.id) == first  # not due yet

    clock.now += 1
    member.tick()
    assert expiry(session.id) > first


def test_a_worker_is_granted_the_lease_less_a_third(org):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    clock = Clock()
    member = member_on(clock)
    member.tick()
    assert member.lease_hold(session.id) == pytest.approx(LEASE * 2 / 3)
    clock.now += 5
    assert member.lease_hold(session.id) == pytest.approx(LEASE * 2 / 3 - 5)
    clock.now += LEASE
    assert member.lease_hold(session.id) == 0  # never negative
    assert member.lease_hold("not-held") == 0


def test_an_unreachable_database_lets_the_sessions_go_before_others_may_claim_them(org):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    clock = Clock()
    store = Unreachable()
    member = member_on(clock, store)
    member.tick()
    store.down = True

    clock.now += LEASE * 2 / 3 - 1
    run, lost = member.tick()
    assert (run, lost) == ({session.id}, set())  # still surely ours

    clock.now += 2
    run, lost = member.tick()
    assert (run, lost) == (set(), {session.id})
    assert member.held() == set()
    assert member.lease_hold(session.id) == 0
