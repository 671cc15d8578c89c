"""The live-action registry's claim: an action is one row plus one engine method.

A throwaway action is added here through the registry alone — a payload, one row, one
sandbox method; in production a service and a view too, and the whatsapp engine's
method: five files — and driven end to end through the runner protocol: the web side's
``routing.perform`` → HTTP on loopback → the runner's server → ``Supervisor.perform`` (the
payload checked where it enters) → the engine → the result back across the wire.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Self

import pytest

from gateway.exceptions import InvalidInput
from sessions_app import routing
from sessions_app.engines.sandbox import SandboxLiveSession
from sessions_app.registry import (
    LiveActionSpec,
    Payload,
    Wire,
    engine_offering,
    register,
    unregister,
)
from sessions_app.runner.fleet import FleetConfig, FleetMember
from sessions_app.runner.server import RunnerServer
from sessions_app.runner.supervisor import Supervisor
from tests.factories import WhatsAppSessionFactory


@dataclass(frozen=True)
class Shout(Payload):
    text: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        text = data.get("text")
        if not isinstance(text, str) or not text:
            raise InvalidInput(details={"text": ["a non-empty string is required"]})
        return cls(text=text)


def shout(self: SandboxLiveSession, *, text: str) -> str:
    """The one engine method (on the sandbox)."""
    self._require_connected()
    return f"{text.upper()}! ({self.account})"


SHOUT = LiveActionSpec(
    "shout_for_test",
    Shout,
    lambda target, payload: engine_offering(target, "shout").shout(text=payload.text),
    lambda answer: {"answer": answer},
    lambda data: str(data["answer"]),
    timeout=5,
)


@pytest.fixture
def runner_over_http(settings, monkeypatch) -> Iterator[FleetMember]:
    """A runner in this process (its supervisor, its lease membership, its HTTP server
    on loopback); ``.try_claim(id)`` makes it hold a session, as its loop would."""
    monkeypatch.setattr(SandboxLiveSession, "shout", shout, raising=False)
    register(SHOUT)
    member = FleetMember(
        FleetConfig(runner_id="test-runner", url="", capacity=10, lease_seconds=30)
    )
    supervisor = Supervisor(allow_whatsapp=False, fleet=member)
    server = RunnerServer(("127.0.0.1", 0), supervisor)
    server.serve_in_thread()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    member.config = FleetConfig(runner_id="test-runner", url=url, capacity=10, lease_seconds=30)
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_URL = url
    try:
        yield member
    finally:
        server.shutdown()
        server.server_close()
        supervisor.stop_all(record=False)
        unregister(SHOUT.name)


@pytest.mark.django_db(transaction=True)
def test_a_new_action_is_one_row_and_one_engine_method(runner_over_http):
    session = WhatsAppSessionFactory(desired_connected=True)
    assert runner_over_http.try_claim(session.id)
    answer = routing.perform(SHOUT, session_id=session.id, payload=Shout(text="hello"))
    assert answer == f"HELLO! ({session.jid})"


@pytest.mark.django_db(transaction=True)
def test_its_payload_is_checked_where_it_enters_the_runner(runner_over_http):
    session = WhatsAppSessionFactory(desired_connected=True)
    assert runner_over_http.try_claim(session.id)
    with pytest.raises(InvalidInput) as refused:
        # A caller that skips the payload's own check still meets it in the runner.
        routing.perform(SHOUT, session_id=session.id, payload=Shout(text=""))
    assert "text" in refused.value.details


@pytest.mark.django_db(transaction=True)
def test_an_unregistered_action_is_unknown_to_the_runner(runner_over_http):
    session = WhatsAppSessionFactory(desired_connected=True)
    assert runner_over_http.try_claim(session.id)
    unregister(SHOUT.name)
    with pytest.raises(Exception) as refused:
        routing.perform(SHOUT, session_id=session.id, payload=Shout(text="hello"))
    assert getattr(refused.value, "code", "") == "not_found"


@pytest.mark.django_db(transaction=True)
def test_an_engine_without_the_method_answers_that_it_does_not_offer_it(
    runner_over_http, monkeypatch
):
    """An engine implements the operations it supports: a row whose method this engine
    lacks is a 501 that says so, not a crash."""
    from gateway.errors import STATUS_BY_CODE
    from gateway.exceptions import GatewayError

    monkeypatch.delattr(SandboxLiveSession, "shout")
    session = WhatsAppSessionFactory(desired_connected=True)
    assert runner_over_http.try_claim(session.id)
    with pytest.raises(GatewayError) as refused:
        routing.perform(SHOUT, session_id=session.id, payload=Shout(text="hello"))
    assert STATUS_BY_CODE[refused.value.code] == 501
    assert "does not offer shout" in refused.value.message


def test_the_engine_contract_and_the_worker_proxy_name_no_action():
    """What a new action does not touch: the engine contract is the lifecycle alone, and
    the session worker's proxy forwards any registry row through one ``call``."""
    from sessions_app.engines.base import LiveSession
    from sessions_app.runner.workers import WorkerSession

    contract = {name for name in vars(LiveSession) if not name.startswith("_")}
    assert contract == {"connected", "start", "stop"}
    proxy = {name for name in vars(WorkerSession) if not name.startswith("_")}
    assert proxy == {
        "remote",
        "connected",
        "pid",
        "exited",
        "start",
        "stop",
        "confirm_lease",
        "call",
    }
