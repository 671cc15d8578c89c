"""System tools some tests run (promtool, hadolint, systemd-analyze): found, skipped with
the command that installs them, or — when ``.ci/run`` says they are required — a failure."""

import os
import shutil
import sys
from pathlib import Path

import pytest


def tool(name: str, install: str, *, required_by: str) -> str | None:
    """The tool's path; None when missing and not required (then skip with ``needs``)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None and os.environ.get(required_by) == "required":
        raise RuntimeError(f"{required_by}=required and no {name}: {install}")
    return found


def needs(path: str | None, install: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(path is None, reason=f"needs it: {install} (.ci/run installs it)")
