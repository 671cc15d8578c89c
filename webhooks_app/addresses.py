"""Where webhooks may go: public addresses only (no SSRF into the gateway's network).

A URL's host is resolved once; every address must be global unicast — not loopback,
private, link-local, multicast or reserved — unless ``GATEWAY_WEBHOOK_ALLOW_PRIVATE``
(development and tests). The delivery then connects to the address that was checked.

An IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:0:0/96``, NAT64
``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo ``2001::/32``) is
judged by that IPv4 address too: ``64:ff9b::7f00:1`` is loopback, whatever IPv6 says.
``192.0.0.0/24`` (IETF protocol assignments, where some networks answer) is refused
as well.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(ValueError):
    pass


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_REFUSED_V4 = (ipaddress.ip_network("192.0.0.0/24"),)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return not any(address in network for network in _REFUSED_V4)
    inner = embedded_ipv4(address)
    return inner is None or is_public(inner)


def checked_address(url: str) -> tuple[str, str, int]:
    """(host, checked IP, port) for ``url``; raises AddressRefused."""
    try:
        parts = urlsplit(url)
        explicit_port = parts.port  # ValueError past 65535 or when not a number
    except ValueError as exc:
        raise AddressRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise AddressRefused("must not carry credentials")
    port = explicit_port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {parts.hostname}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not is_public(address):
                raise AddressRefused(
                    f"{parts.hostname} resolves to {address}, which is not a public address"
                )
    return parts.hostname, str(addresses[0]), port
