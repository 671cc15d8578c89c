"""The event bodies in the OpenAPI document, so a generated client can parse webhooks.

``event_bodies`` (a drf-spectacular postprocessing hook) adds a component per event type,
``WebhookEvent`` (one of them, told apart by ``type``), and points the delivery's
``body`` at it. Each type's ``data`` is described once, here, beside the type names.
"""

from typing import Any

from sessions_app.status import SessionStatus
from webhooks_app.events import EVENT_TYPES, EventType

_REF = "#/components/schemas/"
_GROUP_JID = {"type": "string", "description": "The group's JID (…@g.us)."}
_CHANGED = {
    "type": "array",
    "items": {"type": "string"},
    "description": "The API names of the fields that changed.",
}

# Each event type's data: a schema, or the name of a component it is.
DATA: dict[EventType, dict[str, Any]] = {
    "session.status": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": [status.value for status in SessionStatus]},
            "statusReason": {"type": "string", "description": "Why, in words; may be empty."},
        },
        "required": ["status", "statusReason"],
    },
    "group.created": {"$ref": _REF + "GroupInfo"},
    "group.joined": {"$ref": _REF + "GroupInfo"},
    "group.updated": {
        "type": "object",
        "description": (
            "The group's fields that changed (from an API change: the whole group as "
            "GroupInfo shows it), and their names in `changed`."
        ),
        "properties": {
            "groupJid": _GROUP_JID,
            "subject": {"type": "string"},
            "description": {"type": "string"},
            "ownerJid": {"type": "string"},
            "isAnnounce": {"type": "boolean"},
            "isLocked": {"type": "boolean"},
            "participants": {"type": "integer"},
            "changed": _CHANGED,
        },
        "required": ["groupJid", "changed"],
    },
    "group.participants": {
        "type": "object",
        "properties": {
            "groupJid": _GROUP_JID,
            "action": {
                "type": "string",
                "enum": ["add", "remove", "promote", "demote", "join", "leave"],
            },
            "participants": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["groupJid", "action", "participants"],
    },
    "group.left": {
        "type": "object",
        "properties": {
            "groupJid": _GROUP_JID,
            "reason": {"type": "string", "enum": ["left", "removed", "deleted", "not_listed"]},
        },
        "required": ["groupJid", "reason"],
    },
    "message.received": {"$ref": _REF + "Message"},
    "message.updated": {
        "type": "object",
        "description": (
            "A stored message changed: `edited` (the new `text`), `deleted`, a `reaction` "
            "(`emoji`; empty when taken back) or a `poll_vote` (the voter's `options`); "
            "`message` is the message as it is now."
        ),
        "properties": {
            "chat": {"type": "string"},
            "id": {"type": "string", "description": "The message's id."},
            "change": {"type": "string", "enum": ["edited", "deleted", "reaction", "poll_vote"]},
            "sender": {"type": "string", "description": "Who edited, deleted, reacted or voted."},
            "senderLid": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "text": {"type": "string"},
            "emoji": {"type": "string"},
            "options": {"type": "array", "items": {"type": "string"}},
            "message": {"$ref": _REF + "Message"},
        },
        "required": ["chat", "id", "change", "sender", "timestamp", "message"],
    },
    "webhook.test": {
        "type": "object",
        "properties": {"endpoint": {"type": "string", "description": "whk_…"}},
        "required": ["endpoint"],
    },
}


def component_name(event_type: str) -> str:
    """``group.created`` → ``GroupCreatedEvent``."""
    return "".join(part.title() for part in event_type.replace(".", "_").split("_")) + "Event"


def event_bodies(result: dict[str, Any], **kwargs: object) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for event_type in EVENT_TYPES:
        schemas[component_name(event_type)] = {
            "type": "object",
            "description": f"The body of a `{event_type}` webhook delivery (signed).",
            "properties": {
                "id": {"type": "string", "description": "evt_…; also the webhook-id header."},
                "type": {"type": "string", "enum": [event_type]},
                "createdAt": {"type": "string", "format": "date-time"},
                "session": {"type": "string", "nullable": True},
                "sequence": {
                    "type": "integer",
                    "description": "The session's event counter (0 without a session).",
                },
                "data": DATA[event_type],
            },
            "required": ["id", "type", "createdAt", "session", "sequence", "data"],
        }
    schemas["WebhookEvent"] = {
        "description": "What a webhook delivery POSTs: one of the event types' bodies.",
        "oneOf": [{"$ref": _REF + component_name(name)} for name in EVENT_TYPES],
        "discriminator": {
            "propertyName": "type",
            "mapping": {name: _REF + component_name(name) for name in EVENT_TYPES},
        },
    }
    detail = schemas.get("DeliveryDetail", {}).get("properties", {})
    if "body" in detail:
        detail["body"] = {
            "allOf": [{"$ref": _REF + "WebhookEvent"}],
            "description": "The event body as it is sent (signed).",
        }
    return result
