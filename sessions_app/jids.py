"""WhatsApp addresses (JIDs) as the API accepts them."""

import re

USER_SERVER = "s.whatsapp.net"
GROUP_SERVER = "g.us"
LID_SERVER = "lid"

# Country code + number, no '+', no leading zero: 5 to 20 digits.
PHONE_RE = re.compile(r"^[1-9][0-9]{4,19}$")
USER_JID_RE = re.compile(r"^[1-9][0-9]{4,19}@s\.whatsapp\.net$")
# New groups: 120363… (18 digits); old ones: <creator number>-<timestamp>.
GROUP_JID_RE = re.compile(r"^[0-9]{5,20}(?:-[0-9]{5,20})?@g\.us$")


# WhatsApp's privacy-preserving member id, in groups that address members by it: a member
# WhatsApp gives only as a LID is addressed by that LID.
LID_JID_RE = re.compile(r"^[1-9][0-9]{4,19}@lid$")
MEMBER_JID_PATTERN = r"^(?:[1-9][0-9]{4,19}@s\.whatsapp\.net|[1-9][0-9]{4,19}@lid)$"


def is_user_jid(value: str) -> bool:
    return USER_JID_RE.fullmatch(value) is not None


def is_member_jid(value: str) -> bool:
    """A phone-number JID, or a LID (``…@lid``)."""
    return is_user_jid(value) or LID_JID_RE.fullmatch(value) is not None


def is_group_jid(value: str) -> bool:
    return GROUP_JID_RE.fullmatch(value) is not None


def user_jid(number: str) -> str:
    return f"{number}@{USER_SERVER}"


def user_of(jid: str) -> str:
    """The number part of a JID (``15551234567@s.whatsapp.net`` → ``15551234567``)."""
    return jid.split("@", 1)[0]
