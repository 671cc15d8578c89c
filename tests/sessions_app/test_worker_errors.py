"""A session worker's answer to an action that fails unexpectedly: the caller gets the
envelope's internal error, and the traceback reaches the operator (the runner's log)."""

import io
import json
from dataclasses import dataclass
from typing import Self

import pytest

from gateway.exceptions import Conflict
from sessions_app.registry import LiveActionSpec, Payload, Wire, register, unregister
from sessions_app.worker import Channel, Worker, parse_args


@dataclass(frozen=True)
class Nothing(Payload):
    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls()


def _explode(target: object, payload: Nothing) -> None:
    raise RuntimeError("boom in the library")


def _refuse(target: object, payload: Nothing) -> None:
    raise Conflict("refused on purpose")


@pytest.fixture
def worker():
    for name, run in (("explode", _explode), ("refuse", _refuse)):
        register(LiveActionSpec(name, Nothing, run, lambda _: {}, lambda _: None))
    stream = io.StringIO()
    args = parse_args(["--session", "01TESTSESSION0000000000000", "--store", "x", "--parent", "1"])
    yield Worker(args, Channel(stream)), stream
    unregister("explode")
    unregister("refuse")


def answers(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_unexpected_failure_is_an_internal_error_and_its_traceback_is_logged(worker, capsys):
    live_worker, stream = worker
    live_worker._call({"op": "call", "id": 7, "action": "explode", "payload": {}})
    assert answers(stream) == [
        {
            "op": "error",
            "id": 7,
            "error": {"code": "internal_error", "message": "internal error in the session worker"},
        }
    ]
    logged = capsys.readouterr().err
    assert "action 'explode' failed" in logged
    assert "RuntimeError: boom in the library" in logged
    assert "Traceback" in logged


def test_a_domain_error_is_answered_as_itself_and_not_logged(worker, capsys):
    live_worker, stream = worker
    live_worker._call({"op": "call", "id": 8, "action": "refuse", "payload": {}})
    (answer,) = answers(stream)
    assert answer["error"]["code"] == "conflict"
    assert answer["error"]["message"] == "refused on purpose"
    assert "Traceback" not in capsys.readouterr().err
