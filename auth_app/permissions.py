"""Capability checks: each view declares which capability each action needs."""

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from auth_app.capabilities import Capability
from auth_app.principal import Principal


class CapabilityRequired(exceptions.PermissionDenied):
    def __init__(self, capability: Capability) -> None:
        super().__init__(f"this action requires the '{capability}' capability")
        self.details = {"required": capability.value}


class HasCapability(BasePermission):
    """Requires an authenticated principal holding the view's capability for the action.

    Views set ``required_capabilities = {"list": Capability.READ, ...}`` keyed by the
    viewset action (or the lowercase HTTP method for plain API views).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            raise exceptions.NotAuthenticated()
        required: dict[str, Capability] = getattr(view, "required_capabilities", {})
        action = getattr(view, "action", None) or request.method.lower()
        if action in ("options", "metadata"):
            return True  # the allowed methods (gateway.metadata), to any caller with a key
        if not hasattr(view, action):
            return True  # no handler for this method: the view answers 405

        capability = required.get(action)
        if capability is None:
            # An action nobody declared is closed, not open.
            raise CapabilityRequired(Capability.MANAGE)
        if not principal.can(capability):
            raise CapabilityRequired(capability)
        return True
