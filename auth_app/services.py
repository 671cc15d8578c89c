"""Operations on organizations and API keys (used by the API, admin and commands alike)."""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from auth_app import keys, resolution_memory
from auth_app.capabilities import Capability
from auth_app.models import ApiKey, Organization
from gateway.exceptions import Conflict, InvalidInput

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    # The only time the key exists in clear: hand it to the caller, never store or log it.
    token: str


def organization_create(
    *, slug: str, name: str = "", external_id: str | None = None
) -> Organization:
    if not _SLUG_RE.fullmatch(slug):
        raise InvalidInput(
            details={"slug": ["use 1-64 lowercase letters, digits and inner hyphens"]}
        )
    try:
        with transaction.atomic():
            return Organization.objects.create(
                slug=slug, name=name or slug, external_id=external_id or None
            )
    except IntegrityError as exc:
        raise Conflict(
            f"an organization with slug {slug!r} or that external id already exists"
        ) from exc


def api_key_issue(
    *,
    organization: Organization,
    capabilities: frozenset[Capability],
    name: str = "",
    expires_at: datetime | None = None,
) -> IssuedKey:
    if not capabilities:
        raise InvalidInput(details={"capabilities": ["give at least one of read, send, manage"]})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(details={"expiresAt": ["must be in the future"]})
    lookup_id, token = keys.generate()
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        lookup_id=lookup_id,
        secret_hash=keys.hash_key(token),
        can_read=Capability.READ in capabilities,
        can_send=Capability.SEND in capabilities,
        can_manage=Capability.MANAGE in capabilities,
        expires_at=expires_at,
    )
    return IssuedKey(api_key=api_key, token=token)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revokes the key from now on; revoking twice keeps the first time."""
    if api_key.revoked_at is None:
        now = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        api_key.refresh_from_db(fields=["revoked_at"])
        resolution_memory.forget_all()  # this process at once; the others within its seconds
    return api_key


def organization_for_login(*, external_id: str, provision: bool) -> Organization | None:
    """The organization a login token names (by the frontend's id for it).

    When it is unknown and ``provision`` is on, it is created on first sight with a slug
    derived from the id; concurrent first requests create it once.
    """
    organization = Organization.objects.filter(external_id=external_id).first()
    if organization is not None or not provision:
        return organization
    if len(external_id) > (Organization._meta.get_field("external_id").max_length or 0):
        return None
    try:
        with transaction.atomic():
            return Organization.objects.create(
                slug=_slug_for(external_id), name=external_id, external_id=external_id
            )
    except IntegrityError:
        # Another request provisioned it first.
        return Organization.objects.filter(external_id=external_id).first()


def _slug_for(external_id: str) -> str:
    """Readable and unique: the id slugified, plus a short hash of the exact id."""
    readable = re.sub(r"-+", "-", slugify(external_id).replace("_", "-"))[:40].strip("-")
    digest = hashlib.sha256(external_id.encode("utf-8")).hexdigest()[:8]
    return f"{readable or 'org'}-{digest}"
