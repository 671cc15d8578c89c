from django.http import Http404, HttpRequest, JsonResponse

from auth_app import dev_signing
from auth_app.jwt_config import jwt_config


def dev_jwks(request: HttpRequest) -> JsonResponse:
    """The development signing key's public JWKS; 404 unless development signing is on."""
    if not jwt_config().dev_signing:
        raise Http404
    response = JsonResponse(dev_signing.public_jwks())
    response["Cache-Control"] = "max-age=300"
    return response
