"""Small pieces the operator console's pages share."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html


def truncated(text: str, length: int = 60) -> str:
    """Long text cut to ``length`` characters, the whole of it on hover."""
    if len(text) <= length:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: length - 1])


def wait_words(seconds: float) -> str:
    """A wait as people say it: "42 s", "3 min 5 s"."""
    whole = max(0, round(seconds))
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def confirmed(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: Any,
    *,
    action: str,
    title: str,
    consequence: str,
) -> HttpResponse | None:
    """For a destructive action: None once the operator confirmed; otherwise a page that
    lists what will happen (as Django's delete does), posting the action again."""
    if request.POST.get("confirmed") == "yes":
        return None
    return TemplateResponse(
        request,
        "admin/confirm_action.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "consequence": consequence,
            "objects": list(queryset),
            "action": action,
            "opts": model_admin.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )
