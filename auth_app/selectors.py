from auth_app.models import Organization
from gateway.exceptions import NotFound


def organization_get_by_slug(*, slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise NotFound(f"organization {slug!r} not found")
    return organization
