"""Fetching a message's media from a URL the caller gave, under the webhook address rules
(``webhooks_app.addresses``): public addresses only (``GATEWAY_WEBHOOK_ALLOW_PRIVATE``
for development), the connection made to the address that was checked, each redirect
(at most ``MAX_REDIRECTS``) checked again, no environment proxies, the body read only up
to the kind's size limit (413 beyond it), and the whole fetch within ``TIMEOUT_SECONDS``.
A URL that gives no file is the caller's input: 400 naming ``media.url``.
"""

import http.client
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from gateway.exceptions import InvalidInput, PayloadTooLarge
from webhooks_app.addresses import AddressRefused, checked_address

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 30.0
_CHUNK = 64 * 1024


class MediaFetchFailed(InvalidInput):
    """400 ``validation_error``, naming ``media.url``: the URL did not give a file."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"media.url: {problem}", details={"media": {"url": [problem]}})


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, address: str, port: int, *, hostname: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._hostname = hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._hostname)  # type: ignore[attr-defined]


def _connection(url: str, *, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    try:
        host, address, port = checked_address(url)
    except AddressRefused as refused:
        raise InvalidInput(details={"media": {"url": [str(refused)]}}) from None
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        return _PinnedHTTPS(address, port, hostname=host, timeout=timeout), target
    return http.client.HTTPConnection(address, port, timeout=timeout), target


def fetch_media(url: str, *, limit: int) -> bytes:
    """The bytes at ``url`` (following checked redirects), at most ``limit`` of them."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection, target = _connection(url, timeout=remaining)
        try:
            connection.request(
                "GET",
                target,
                headers={"Host": urlsplit(url).netloc, "User-Agent": "whatsapp-gateway (media)"},
            )
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise MediaFetchFailed("the media URL redirected nowhere")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise MediaFetchFailed(f"the media URL answered {response.status}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise PayloadTooLarge(
                    f"the media is over {limit} bytes", details={"maxBytes": limit}
                )
            body = bytearray()
            while chunk := response.read(_CHUNK):
                body += chunk
                if len(body) > limit:
                    raise PayloadTooLarge(
                        f"the media is over {limit} bytes", details={"maxBytes": limit}
                    )
                if time.monotonic() > deadline:
                    raise MediaFetchFailed(f"the media URL took over {TIMEOUT_SECONDS:.0f} s")
            if not body:
                raise MediaFetchFailed("the media URL answered an empty body")
            return bytes(body)
        except (OSError, http.client.HTTPException) as exc:
            raise MediaFetchFailed(
                f"the media URL could not be fetched ({exc.__class__.__name__})"
            ) from None
        finally:
            connection.close()
    raise MediaFetchFailed(f"the media URL redirected more than {MAX_REDIRECTS} times")
