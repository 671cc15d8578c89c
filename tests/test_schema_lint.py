"""The OpenAPI document passes Stoplight Spectral's OpenAPI rules (`spectral:oas`, the
repository's `.spectral.yaml`) with no finding at all, not even a hint: the real CLI,
pinned in `tools/package-lock.json` and installed by `make install-dev` (`make test`).

Spectral checks, among the rest, that every example matches the schema it illustrates,
that operations have descriptions and declared tags, and that servers and a contact are
named; operations added later are held to the same rules without touching this file.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

ROOT = Path(__file__).resolve().parent.parent
SPECTRAL = ROOT / "tools" / "node_modules" / ".bin" / "spectral"
INSTALL = "make install-dev  (or: npm ci --prefix tools)"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


def spectral(document: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    """Spectral's findings for ``document``, as its JSON output lists them."""
    if not SPECTRAL.exists():
        pytest.fail(f"Spectral is not installed; run: {INSTALL}")
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            str(path),
            "--ruleset",
            str(ROOT / ".spectral.yaml"),
            "--format",
            "json",
            "--fail-severity",
            "hint",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout.strip()
    findings = json.loads(output) if output.startswith("[") else None
    assert findings is not None, f"spectral failed: {done.stderr[-2000:]}{output[-2000:]}"
    assert (done.returncode == 0) == (findings == []), done.stderr[-2000:]
    return findings


def test_spectral_finds_nothing(document: dict[str, Any], tmp_path: Path) -> None:
    findings = spectral(document, tmp_path)
    assert findings == [], "\n".join(
        f"{f['code']}: {f['message']} at {'.'.join(map(str, f['path']))}" for f in findings
    )


def test_spectral_would_say_so(document: dict[str, Any], tmp_path: Path) -> None:
    """The lint is live: an operation without a description, and an example that
    contradicts its schema, are both reported."""
    broken = json.loads(json.dumps(document))
    operation = broken["paths"]["/api/v1/webhooks"]["get"]
    operation.pop("description", None)
    create = broken["paths"]["/api/v1/sessions/{session}/groups"]["post"]
    media = create["requestBody"]["content"]["application/json"]
    media["examples"] = {"bad": {"value": {"name": 42, "participants": "nobody"}}}
    codes = {finding["code"] for finding in spectral(broken, tmp_path)}
    assert {"operation-description", "oas3-valid-media-example"} <= codes, codes


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    from drf_spectacular.validation import validate_schema

    validate_schema(document)  # raises on a document that breaks the OpenAPI 3.0 schema
    assert document["openapi"].startswith("3.0")
