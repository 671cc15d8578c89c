"""Assertions shared by the API tests."""

from typing import Any


def assert_error(response: Any, status: int, code: str) -> dict:
    """The response is the error envelope with this status and code; returns the error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error
