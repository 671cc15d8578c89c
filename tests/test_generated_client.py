"""A client generated from the served schema with openapi-python-client drives every
group-management operation against a live server: the schema is exact enough to build
on."""

import base64
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import WhatsAppSessionFactory

ALICE = "15551230001@s.whatsapp.net"
PRIVATE = "15554030001@s.whatsapp.net"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The client package, generated once for the module."""
    folder = tmp_path_factory.mktemp("client")
    schema = folder / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    tool = shutil.which("openapi-python-client") or str(
        Path(sys.executable).parent / "openapi-python-client"
    )
    result = subprocess.run(
        [tool, "generate", "--path", str(schema), "--meta", "none", "--output-path", "gwclient"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(folder)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


def module(name: str):
    return importlib.import_module(f"gwclient.{name}")


@pytest.mark.django_db(transaction=True)
def test_every_group_management_operation(generated, live_server, org, issue_token, settings):
    settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off", "anonymous": "off"}
    client = module("client").AuthenticatedClient(
        base_url=live_server.url, token=issue_token(org), raise_on_unexpected_status=True
    )
    models = module("models")
    session = WhatsAppSessionFactory(organization=org, desired_connected=True)
    other = WhatsAppSessionFactory(organization=org, desired_connected=True)

    def call(operation: str, *args, **kwargs):
        response = importlib.import_module(f"gwclient.api.groups.{operation}").sync_detailed(
            *args, client=client, **kwargs
        )
        assert response.status_code < 300, (operation, response.status_code, response.content)
        return response.parsed

    group = call(
        "create_group",
        session.id,
        body=models.GroupCreateInputRequest(name="Team", participants=[ALICE]),
    )
    jid = group.group_jid

    added = call(
        "change_group_participants",
        session.id,
        jid,
        body=models.ParticipantsChangeInputRequest(
            action=models.ActionEnum.ADD, participants=[PRIVATE]
        ),
    )
    assert added.results[0].result == models.ResultEnum.NEEDS_INVITE
    call(
        "change_group_participants",
        session.id,
        jid,
        body=models.ParticipantsChangeInputRequest(
            action=models.ActionEnum.PROMOTE, participants=[ALICE]
        ),
    )
    members = call("list_group_participants", session.id, jid)
    assert {m.jid: m.role for m in members.results}[ALICE] == models.RoleEnum.ADMIN

    updated = call(
        "update_group",
        session.id,
        jid,
        body=models.PatchedGroupUpdateInputRequest(description="About us", is_locked=True),
    )
    assert (updated.description, updated.is_locked) == ("About us", True)

    invite = call("get_group_invite", session.id, jid)
    assert invite.url.endswith(invite.code)
    preview = call("get_group_invite_info", other.id, code=invite.code)
    assert preview.group_jid == jid
    joined = call("join_group", other.id, body=models.JoinInputRequest(code=invite.url))
    assert joined.group_jid == jid
    revoked = call("revoke_group_invite", session.id, jid)
    assert revoked.code != invite.code

    requests = call("list_group_join_requests", session.id, jid)
    assert requests.results == []
    picture = call(
        "set_group_picture",
        session.id,
        jid,
        body=models.PictureInputRequest(image=base64.b64encode(JPEG).decode()),
    )
    assert picture.picture_id

    response = importlib.import_module("gwclient.api.groups.leave_group").sync_detailed(
        session.id, jid, client=client
    )
    assert response.status_code == 204
