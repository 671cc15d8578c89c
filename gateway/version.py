"""The gateway's release (the same as ``pyproject.toml``'s; a test keeps them equal)."""

VERSION = "0.1.0"
