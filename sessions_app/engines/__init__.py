"""Engines: what a session talks to. Every live action goes through ``Engine``."""

from sessions_app.engines.base import Engine
from sessions_app.engines.registry import engine_for

__all__ = ["Engine", "engine_for"]
