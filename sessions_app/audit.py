"""Live POSTs: the audit record of each, and ``Idempotency-Key`` (API.md, "Safe retries").

A view declares its live action with ``@live_action(SPEC)`` (a row of the registry,
``sessions_app.registry``); the decorator owns the audit record and the idempotency
claim, and decides "outcome unknown" by the exception's type (``WhatsAppTimedOut``),
never by reading a rendered answer.

Every live POST (create group, sync, connect, logout, pairing code) leaves a
``LiveActionRecord``: who, which session, what, a fingerprint of the request, the
outcome and how long it took. With an ``Idempotency-Key`` header the record also claims
the key for the organization — by a unique constraint, so two racing requests cannot
both claim it — and for 24 hours:

- same key, same request, finished → the first answer is replayed
  (``Idempotent-Replayed: true``), nothing runs again;
- same key, different request → 422 ``idempotency_key_reused``;
- same key while the first is still running → 409 ``idempotency_in_progress``;
- the first ended with WhatsApp not answering (504, outcome unknown) → the retry runs,
  but looks on WhatsApp first (a group it did create is found and returned);
- the first failed for a reason a retry may fix (any other 5xx, or 429: the
  organization was over its share, ``sessions_app.live_limits``) → the key is released
  and the retry runs afresh;
- the first request's process died (its claim is still ``in_progress`` after the longest
  a live call can last, plus a margin) → the retry takes the claim over and looks on
  WhatsApp first, as after a timeout.

A record keeps a SHA-256 digest of every answer it saw; the answer itself only when it
is a success (small, and replayed in full) or an error of at most ``KEPT_BODY_BYTES``.
A larger error keeps its status, code and message: no caller can make the audit trail
store what it sent back at it.
"""

import functools
import hashlib
import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from auth_app.principal import Principal
from gateway.errors import api_exception_handler
from gateway.exceptions import GatewayError, InvalidInput, WhatsAppTimedOut
from gateway.metrics import LIVE_CALLS, LIVE_LATENCY
from sessions_app.live_limits import charge_participants, live_call_slot, participants_named
from sessions_app.models import ActionState, LiveActionRecord
from sessions_app.registry import LiveActionSpec, longest_timeout

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
# A claim whose request died with its process is taken over after this long: the longest
# live call, plus a margin for the request around it.
STALE_CLAIM_MARGIN = timedelta(seconds=30)


def stale_claim_after() -> timedelta:
    return timedelta(seconds=longest_timeout()) + STALE_CLAIM_MARGIN


# Error answers larger than this are kept as status, code and message only.
KEPT_BODY_BYTES = 1024
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyInProgress(GatewayError):
    code = "idempotency_in_progress"
    default_message = "a request with this Idempotency-Key is still running; retry later"


class IdempotencyKeyReused(GatewayError):
    code = "idempotency_key_reused"
    default_message = "this Idempotency-Key was used with a different request"


@dataclass(frozen=True)
class Claim:
    record: LiveActionRecord
    # The finished record whose answer is replayed instead of running again.
    replay: LiveActionRecord | None = None
    # The first attempt's outcome is unknown: check WhatsApp before acting again.
    after_unknown_since: datetime | None = None


def fingerprint(request: Request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.body or b"")
    return digest.hexdigest()


def action_begin(
    *,
    principal: Principal,
    session_ref: str,
    action: str,
    request_fingerprint: str,
    key: str | None,
) -> Claim:
    fields = {
        "organization": principal.organization,
        "session_ref": session_ref[:64],
        "action": action,
        "principal_kind": principal.kind,
        "principal_id": principal.identifier,
        "fingerprint": request_fingerprint,
    }
    if key is None:
        return Claim(LiveActionRecord.objects.create(**fields))
    if not _KEY_RE.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            details={KEY_HEADER: ["1 to 255 visible ASCII characters"]},
        )
    for _ in range(3):
        try:
            with transaction.atomic():
                return Claim(LiveActionRecord.objects.create(**fields, idempotency_key=key))
        except IntegrityError:
            pass
        existing = LiveActionRecord.objects.filter(
            organization=principal.organization, idempotency_key=key
        ).first()
        if existing is None:
            continue  # released meanwhile: claim again
        now = timezone.now()
        if existing.started_at <= now - KEY_LIFETIME:
            _release(existing)
            continue
        if existing.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        if existing.state in (ActionState.SUCCEEDED, ActionState.FAILED):
            return Claim(existing, replay=existing)
        stale = existing.started_at <= now - stale_claim_after()
        if existing.state == ActionState.IN_PROGRESS and not stale:
            raise IdempotencyInProgress()
        # Outcome unknown (or its request died): exactly one retry takes it over.
        taken = LiveActionRecord.objects.filter(pk=existing.pk, state=existing.state).update(
            state=ActionState.IN_PROGRESS, finished_at=None
        )
        if not taken:
            raise IdempotencyInProgress()
        return Claim(existing, after_unknown_since=existing.started_at)
    raise IdempotencyInProgress()


def _release(record: LiveActionRecord) -> None:
    LiveActionRecord.objects.filter(pk=record.pk, idempotency_key=record.idempotency_key).update(
        idempotency_key=None
    )


def action_finish(
    *, record: LiveActionRecord, response: Response, started: float, outcome_unknown: bool
) -> None:
    status = response.status_code
    body = response.data if isinstance(response.data, dict | list) else None
    error = body.get("error") if isinstance(body, dict) else None
    error_code = error.get("code", "") if isinstance(error, dict) else ""
    if status < 400:
        state = ActionState.SUCCEEDED
    elif outcome_unknown:
        state = ActionState.UNKNOWN
    else:
        state = ActionState.FAILED
    encoded = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    updates: dict[str, Any] = {
        "state": state,
        "status_code": status,
        "error_code": error_code,
        "response_body": _kept_body(body, status=status, size=len(encoded)),
        "response_digest": hashlib.sha256(encoded).hexdigest(),
        "finished_at": timezone.now(),
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    if (status >= 500 and state != ActionState.UNKNOWN) or status == 429:
        # The runner or the database was away, or the organization was over its share:
        # a retry should run, not replay this.
        updates["idempotency_key"] = None
    LiveActionRecord.objects.filter(pk=record.pk).update(**updates)
    LIVE_CALLS.labels(record.action, str(state)).inc()
    LIVE_LATENCY.labels(record.action).observe(time.monotonic() - started)


def _kept_body(body: Any, *, status: int, size: int) -> Any:
    if status < 400 or size <= KEPT_BODY_BYTES:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return {
        "error": {
            "code": (error or {}).get("code", "internal_error"),
            "message": str(message or "request failed")[:500],
            "details": {"omitted": f"{size} bytes of details were not kept"},
        }
    }


def live_action(
    spec: LiveActionSpec[Any, Any] | str,
) -> Callable[[Callable[..., Response]], Any]:
    """Declares a view method a live POST of ``spec`` (a registry row, or the name of an
    operation made of several, e.g. a PATCH): it runs under an audit record and
    an Idempotency-Key claim. A view that takes ``look_first_since`` gets the first
    attempt's start when an earlier try with the same key ended with the outcome unknown
    (so it can look on WhatsApp before acting again); None otherwise."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        wants_since = "look_first_since" in inspect.signature(view).parameters

        @functools.wraps(view)
        def audited(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            principal: Principal = request.user  # type: ignore[assignment]
            claim = action_begin(
                principal=principal,
                session_ref=str(kwargs.get("session", "")),
                action=spec if isinstance(spec, str) else spec.name,
                request_fingerprint=fingerprint(request),
                key=request.headers.get(KEY_HEADER),
            )
            if claim.replay is not None:
                replayed = Response(claim.replay.response_body, status=claim.replay.status_code)
                replayed[REPLAYED_HEADER] = "true"
                return replayed
            if wants_since:
                kwargs["look_first_since"] = claim.after_unknown_since
            started = time.monotonic()
            outcome_unknown = False
            organization_id = principal.organization.pk
            try:
                # The organization's share of the gateway: refused before anything runs.
                with live_call_slot(organization_id=organization_id):
                    # (A body that does not parse is answered here as the view would.)
                    named = participants_named(request.data)
                    charge_participants(organization_id=organization_id, count=named)
                    response = view(self, request, *args, **kwargs)
            except Exception as exc:
                # WhatsApp (or the runner) may have acted: a retry must look first.
                outcome_unknown = isinstance(exc, WhatsAppTimedOut)
                # The one exception handler answers; the record keeps what the caller got.
                response = api_exception_handler(exc, {"request": request})
            action_finish(
                record=claim.record,
                response=response,
                started=started,
                outcome_unknown=outcome_unknown,
            )
            return response

        return audited

    return decorate
