"""The address rule judges an IPv6 address by the IPv4 one it carries, too."""

import ipaddress

import pytest

from webhooks_app.addresses import is_public


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b:1::a00:7", False),  # local-use NAT64 of 10.0.0.7
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:10.0.0.7", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("192.0.0.8", False),  # IETF protocol assignments
        ("169.254.169.254", False),
        ("ff02::1", False),  # multicast
    ],
)
def test_is_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public
