"""The rules of a message to send, shared by the API's serializer and the runner's payload
check (``messages_app.registry``): one place says what is well-formed."""

import base64
import binascii

from django.conf import settings

from sessions_app.engines.messages import MEDIA_KINDS, SENT_KINDS
from sessions_app.jids import is_group_jid, is_user_jid

TEXT_MAX_LENGTH = 65_536
CAPTION_MAX_LENGTH = 1024
FILENAME_MAX_LENGTH = 255
MENTIONS_MAX = 1024
POLL_NAME_MAX_LENGTH = 255
POLL_OPTION_MAX_LENGTH = 100
POLL_OPTIONS = (2, 12)
MESSAGE_ID_MAX_LENGTH = 128
# Emoji are short: a few code points (skin tones, joiners).
EMOJI_MAX_LENGTH = 16
KINDS = SENT_KINDS


def media_limit(kind: str) -> int:
    """The largest media of this kind, decoded, in bytes."""
    return int(settings.GATEWAY_MEDIA_MAX_BYTES[kind])


def largest_media() -> int:
    return max(media_limit(kind) for kind in MEDIA_KINDS)


def is_chat_jid(jid: str) -> bool:
    return is_user_jid(jid) or is_group_jid(jid)


def decoded_base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
