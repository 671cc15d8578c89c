"""WhatsApp's limits on groups, checked before WhatsApp is asked.

Pure functions: the API's serializers and the session runner (a trust boundary of its
own) apply the same rules.
"""

import unicodedata

# WhatsApp's subject limit today (whatsmeow-based servers accept 100 code points).
SUBJECT_MAX_LENGTH = 100
# WhatsApp's group size limit, the owner included.
GROUP_SIZE_LIMIT = 1024
MAX_INVITED = GROUP_SIZE_LIMIT - 1
# A group description (WhatsApp's "topic"), in code points.
DESCRIPTION_MAX_LENGTH = 2048


def subject_problem(subject: str) -> str | None:
    """Why ``subject`` (already trimmed) cannot be a group subject, or None.

    Control characters (newlines, tabs, NUL, …) are refused; so is a subject made only of
    invisible characters (zero-width spaces and joiners, bidi controls, other format
    characters) and spaces, which would show as a blank name. Format characters among
    visible ones are fine: emoji sequences need zero-width joiners. Length counts code
    points, as WhatsApp does.
    """
    if not subject:
        return "This field may not be blank."
    if len(subject) > SUBJECT_MAX_LENGTH:
        return f"Ensure this field has no more than {SUBJECT_MAX_LENGTH} characters."
    visible = False
    for char in subject:
        category = unicodedata.category(char)
        if category == "Cc":
            return "must not contain control characters (newlines, tabs, …)"
        if category not in ("Cf", "Zs", "Zl", "Zp") and not char.isspace():
            visible = True
    if not visible:
        return "must contain a visible character, not only invisible or blank ones"
    return None


# A group picture: a JPEG of at most this many bytes (after base64 decoding).
PICTURE_MAX_BYTES = 1024 * 1024
_JPEG_MAGIC = b"\xff\xd8\xff"


def jpeg_problem(image: object) -> str | None:
    """Why ``image`` (base64 text) is not an acceptable group picture, or None."""
    import base64
    import binascii

    if not isinstance(image, str):
        return "a base64 JPEG"
    if len(image) > (PICTURE_MAX_BYTES + 2) // 3 * 4 + 4:
        return f"the image is over {PICTURE_MAX_BYTES} bytes"
    try:
        data = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        return "not base64"
    if len(data) > PICTURE_MAX_BYTES:
        return f"the image is over {PICTURE_MAX_BYTES} bytes"
    if not data.startswith(_JPEG_MAGIC):
        return "not a JPEG"
    return None
