"""What a caller may do. Every endpoint requires exactly one capability."""

from enum import StrEnum


class Capability(StrEnum):
    READ = "read"  # list and get stored data
    SEND = "send"  # live actions on WhatsApp (create a group, send, sync)
    MANAGE = "manage"  # sessions lifecycle, pairing, API keys


ALL_CAPABILITIES: frozenset[Capability] = frozenset(Capability)


def parse_capabilities(raw: str | list[str]) -> frozenset[Capability]:
    """``"read,send"`` or ``["read", "send"]`` → capabilities; ValueError names the bad one."""
    items = raw.split(",") if isinstance(raw, str) else raw
    names = [item.strip().lower() for item in items if item.strip()]
    unknown = sorted(set(names) - {c.value for c in Capability})
    if unknown:
        allowed = ", ".join(c.value for c in Capability)
        raise ValueError(f"unknown capability {unknown[0]!r} (allowed: {allowed})")
    return frozenset(Capability(name) for name in names)
