"""The live-action registry: one row per thing the web process can ask of the runner.

A row (``LiveActionSpec``) says everything about an action: its name (in the runner
protocol's URL and in the audit trail), its typed payload — validated where it enters
the runner, which is a trust boundary of its own — how long the web process waits,
what it does in the runner (usually: call one engine method) and how its result
crosses the wire. ``sessions_app.routing.perform`` sends it, ``Supervisor.perform`` runs
it, ``sessions_app.audit.live_action`` audits it; none of them name actions.

Adding an action: a payload dataclass and one ``register(LiveActionSpec(...))`` row
(with the engine method's signature in the operations protocol beside it), the method
in each engine that offers it, a service and its API view. Session actions are
registered here; group actions by ``groups_app.registry``. Nothing else names actions:
the runner and the session worker's proxy forward any row.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar, cast

from gateway.exceptions import InvalidInput, NotOffered
from sessions_app.engines.base import LiveSession
from sessions_app.engines.types import PairingCode
from sessions_app.jids import PHONE_RE

Wire = dict[str, Any]


class Payload:
    """What a live action carries: a dataclass that checks itself when it arrives."""

    def to_wire(self) -> Wire:
        wire: Wire = asdict(self)  # type: ignore[call-overload]
        return wire

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        """Builds the payload from what crossed the wire, or raises InvalidInput."""
        raise NotImplementedError


@dataclass(frozen=True)
class Empty(Payload):
    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls()


class ActionTarget(Protocol):
    """What a row's ``run`` works on, inside the runner."""

    session_id: str

    def live(self) -> LiveSession:
        """The session's connected live session (else SessionNotConnected)."""

    def connect(self) -> None:
        """Start holding the session (retrying at once if it waited to retry)."""

    def release(self) -> None:
        """Stop holding the session and forget its device keys (it is being deleted)."""


P = TypeVar("P", bound=Payload)
R = TypeVar("R")


def engine_offering(target: ActionTarget, method: str) -> object:
    """The session's engine, for a row that calls its ``method``; NotOffered (501) when
    this engine has no such method. (Each app's rows view it through their operations
    protocol.)"""
    live = target.live()
    if not callable(getattr(live, method, None)):
        raise NotOffered(f"this session's engine does not offer {method.replace('_', ' ')}")
    return live


@dataclass(frozen=True)
class LiveActionSpec(Generic[P, R]):
    name: str
    payload: type[P]
    run: Callable[[ActionTarget, P], R]
    result_to_wire: Callable[[R], Wire]
    result_from_wire: Callable[[Wire], R]
    # Seconds the web process waits. WhatsApp's own queries time out at 75 s, so actions
    # that query it get a little more.
    timeout: float = 90
    # Runs on the session's engine (in its worker process, for whatsapp sessions); False
    # for what the runner itself does (connect, release).
    on_engine: bool = True
    # The engine needs the JIDs of the groups the store held before this Unix time of the
    # payload: a create whose outcome was unknown may return a group stored since then
    # (WhatsApp's JoinedGroup event stores what it made), never one stored before. Sent
    # along with the call.
    known_groups_before: Callable[[Any], float] | None = None
    # Which runner the web process asks (sessions_app.routing): "holder", the runner
    # holding the session's lease; "any", the holder or else a live runner with room
    # (connecting); "holder_if_any", the holder, or nobody when none holds it (release).
    route: str = "holder"


_REGISTRY: dict[str, LiveActionSpec[Any, Any]] = {}


def register(spec: LiveActionSpec[P, R]) -> LiveActionSpec[P, R]:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"live action {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def action_named(name: str) -> LiveActionSpec[Any, Any] | None:
    return _REGISTRY.get(name)


def longest_timeout() -> float:
    return max(spec.timeout for spec in _REGISTRY.values())


# -- wire helpers for rows ------------------------------------------------------------


def no_result(_: object) -> Wire:
    return {}


def nothing(_: Wire) -> None:
    return None


def text_field(data: Wire, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise InvalidInput(details={name: ["a string is required"]})
    return value


# -- the session actions ----------------------------------------------------------------


class SessionOperations(Protocol):
    """What engines offer the session actions below."""

    def pair_code(self, *, phone: str) -> PairingCode:
        """A code for the phone, and until when the pairing window lets it be used."""

    def logout(self) -> None: ...


def _engine(target: ActionTarget, method: str) -> SessionOperations:
    return cast(SessionOperations, engine_offering(target, method))


@dataclass(frozen=True)
class PairCode(Payload):
    phone: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        phone = text_field(data, "phone")
        if not PHONE_RE.fullmatch(phone):
            raise InvalidInput(details={"phone": ["digits only, 5 to 20, no '+'"]})
        return cls(phone=phone)


def _pair_code(target: ActionTarget, payload: PairCode) -> PairingCode:
    return _engine(target, "pair_code").pair_code(phone=payload.phone)


def _logout(target: ActionTarget, payload: Empty) -> None:
    _engine(target, "logout").logout()


def _connect(target: ActionTarget, payload: Empty) -> None:
    target.connect()


def _release(target: ActionTarget, payload: Empty) -> None:
    target.release()


CONNECT = register(
    LiveActionSpec(
        "connect", Empty, _connect, no_result, nothing, timeout=10, on_engine=False, route="any"
    )
)
PAIR_CODE = register(
    LiveActionSpec(
        "pair_code",
        PairCode,
        _pair_code,
        lambda paired: {"code": paired.code, "expires_at": paired.expires_at.isoformat()},
        lambda data: PairingCode(
            code=str(data["code"]), expires_at=datetime.fromisoformat(data["expires_at"])
        ),
        timeout=30,
    )
)
LOGOUT = register(LiveActionSpec("logout", Empty, _logout, no_result, nothing, timeout=30))
RELEASE = register(
    LiveActionSpec(
        "release",
        Empty,
        _release,
        no_result,
        nothing,
        timeout=20,
        on_engine=False,
        route="holder_if_any",
    )
)
