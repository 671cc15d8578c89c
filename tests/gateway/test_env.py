"""The typed environment readers behind every setting."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from gateway.env import env_bool, env_int, env_list, env_mapping, env_str


def test_mapping(monkeypatch):
    monkeypatch.setenv("ROLES", "owner=read,send,manage; viewer = read ;guest=")
    assert env_mapping("ROLES", {}) == {
        "owner": ["read", "send", "manage"],
        "viewer": ["read"],
        "guest": [],
    }


def test_mapping_default_when_unset(monkeypatch):
    monkeypatch.delenv("ROLES", raising=False)
    assert env_mapping("ROLES", {"a": ["read"]}) == {"a": ["read"]}


def test_mapping_rejects_entries_without_equals(monkeypatch):
    monkeypatch.setenv("ROLES", "owner")
    with pytest.raises(ImproperlyConfigured, match="ROLES"):
        env_mapping("ROLES", {})


def test_bool_int_list(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    monkeypatch.setenv("NUMBER", "42")
    monkeypatch.setenv("ITEMS", "a, b,,c")
    assert env_bool("FLAG") is True
    assert env_int("NUMBER", 1) == 42
    assert env_list("ITEMS", []) == ["a", "b", "c"]
    monkeypatch.setenv("NUMBER", "many")
    with pytest.raises(ImproperlyConfigured, match="NUMBER must be an integer"):
        env_int("NUMBER", 1)


def test_secret_from_file(monkeypatch, tmp_path):
    secret = tmp_path / "s"
    secret.write_text("from-file\n")
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert env_str("TOKEN") == "from-file"
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="TOKEN_FILE"):
        env_str("TOKEN")
