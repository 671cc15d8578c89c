"""Typed readers for configuration that comes from the environment.

Every setting the gateway reads from the environment goes through these helpers, so
the README's configuration table and the code agree on names, types and defaults.
A secret may also be given as ``NAME_FILE`` (a path whose contents are the value), the
usual way container platforms hand out secrets.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_mapping(name: str, default: dict[str, list[str]]) -> dict[str, list[str]]:
    """``"owner=read,send,manage;viewer=read"`` → ``{"owner": [...], "viewer": ["read"]}``.

    An entry with nothing after ``=`` maps to no values.
    """
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    mapping: dict[str, list[str]] = {}
    for entry in raw.split(";"):
        if not entry.strip():
            continue
        key, sep, values = entry.partition("=")
        if not sep or not key.strip():
            raise ImproperlyConfigured(
                f"{name}: expected 'name=value,value;name=value', got {entry.strip()!r}"
            )
        mapping[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return mapping
