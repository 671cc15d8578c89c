"""The single place where a bearer token becomes a principal.

``Authorization: Bearer <token>`` is read here and handed to each token resolver in
turn; the first that recognises the token's shape decides. Resolvers are modules with
``recognises(token) -> bool`` and ``resolve(token) -> Principal``.

A request without a token, or whose token is refused, counts against its address's
unauthenticated budget (``gateway.throttling.count_anonymous``): past it, 429 instead
of 401, and refusals are logged once per address per window, not once per request.
"""

from types import ModuleType

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from auth_app import api_key_auth, jwt_auth
from auth_app.exceptions import InvalidToken
from auth_app.principal import Principal
from gateway.throttling import count_anonymous

# Tried in order: a login JWT first (three dot-separated parts), then an API key (wag_…).
TOKEN_RESOLVERS: list[ModuleType] = [jwt_auth, api_key_auth]


class BearerAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        header = get_authorization_header(request).split()
        if not header:
            count_anonymous(request)
            return None
        try:
            return self._resolve(header)
        except InvalidToken as exc:
            count_anonymous(request, refusal=str(exc.detail))
            raise

    def _resolve(self, header: list[bytes]) -> tuple[Principal, Principal]:
        if header[0].lower() != self.keyword:
            raise InvalidToken("Authorization header must use the Bearer scheme")
        if len(header) != 2:
            raise InvalidToken("malformed Authorization header: expected 'Bearer <token>'")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidToken("malformed bearer token") from exc
        for resolver in TOKEN_RESOLVERS:
            if resolver.recognises(token):
                principal = resolver.resolve(token)
                return principal, principal
        raise InvalidToken("unrecognised bearer token")

    def authenticate_header(self, request: Request) -> str:
        if get_authorization_header(request):
            return 'Bearer error="invalid_token"'
        return "Bearer"
