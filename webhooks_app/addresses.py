"""Where webhooks may go: public addresses only (no SSRF into the gateway's network).

A URL's host is resolved once; every address must be global unicast — not loopback,
private, link-local, multicast or reserved — unless ``GATEWAY_WEBHOOK_ALLOW_PRIVATE``
(development and tests). The delivery then connects to the address that was checked.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(ValueError):
    pass


def checked_address(url: str) -> tuple[str, str, int]:
    """(host, checked IP, port) for ``url``; raises AddressRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise AddressRefused("must not carry credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {parts.hostname}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not address.is_global or address.is_multicast:
                raise AddressRefused(
                    f"{parts.hostname} resolves to {address}, which is not a public address"
                )
    return parts.hostname, str(addresses[0]), port
