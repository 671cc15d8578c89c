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
