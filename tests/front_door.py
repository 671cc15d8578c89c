"""The production front door as processes: gunicorn with ``gunicorn.conf.py``'s
defaults, and real nginx with ``deploy/nginx.conf`` (its listen addresses, upstream port
and certificate paths moved to the caller's) in front of it. For tests and benchmarks.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.certificates import self_signed
from tests.processes import ROOT, free_port, process_env, wait_for

SITE = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()), None
)
if NGINX is None and os.environ.get("GATEWAY_NGINX_TESTS") == "required":
    raise RuntimeError("GATEWAY_NGINX_TESTS=required and no nginx: apt-get install -y nginx-light")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="needs nginx: apt-get install -y nginx-light (.ci/run installs it)"
)


@dataclass
class FrontDoor:
    https: str
    http: str
    web: str
    tls_port: int
    cert: Path
    nginx_log: Path


def site_for_test(*, tls_port: int, plain_port: int, web_port: int, cert: Path, key: Path) -> str:
    """``deploy/nginx.conf`` with this test's addresses; each line replaced must be there
    exactly once, so the test follows the shipped file rather than a copy of it."""
    text = SITE.read_text()
    replacements = [
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        (r"listen \[::\]:443 ssl http2;", ""),
        (r"listen 80;", f"listen 127.0.0.1:{plain_port};"),
        (r"listen \[::\]:80;", ""),
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{web_port};"),
        (r"ssl_certificate +\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count == 1, f"deploy/nginx.conf no longer has {pattern!r} once"
    return text


def main_config(directory: Path, site: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{name}_temp_path {directory / name};" for name in ("client_body", "proxy", "fastcgi")
    )
    return (
        f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log {directory / 'access.log'}; {temp} "
        f"uwsgi_temp_path {directory / 'uwsgi'}; scgi_temp_path {directory / 'scgi'}; "
        f"include {site}; }}\n"
    )


@contextmanager
def gunicorn(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, **extra: str
) -> Iterator[str]:
    """gunicorn on a free port (the test database's environment unless ``env``)."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    base = env if env is not None else process_env()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "gateway.wsgi", "-b", f"127.0.0.1:{port}", *args],
            cwd=ROOT,
            env={**base, "ALLOWED_HOSTS": "*", "SECURE_SSL_REDIRECT": "0", **extra},
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, "gunicorn to listen")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def nginx_in_front(tmp_path: Path, web: str) -> Iterator[FrontDoor]:
    assert NGINX is not None
    directory = tmp_path / "nginx"
    directory.mkdir()
    cert, key = self_signed(directory)
    tls_port, plain_port = free_port(), free_port()
    site = directory / "whatsapp-gateway.conf"
    site.write_text(
        site_for_test(
            tls_port=tls_port,
            plain_port=plain_port,
            web_port=int(web.rsplit(":", 1)[1]),
            cert=cert,
            key=key,
        )
    )
    config = directory / "nginx.conf"
    config.write_text(main_config(directory, site))
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(directory), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    door = FrontDoor(
        https=f"https://127.0.0.1:{tls_port}",
        http=f"http://127.0.0.1:{plain_port}",
        web=web,
        tls_port=tls_port,
        cert=cert,
        nginx_log=directory / "error.log",
    )

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {door.nginx_log.read_text()[-3000:]}")
        try:
            requests.get(f"{door.http}/healthz", timeout=1)  # any answer: nginx listens
            return True
        except requests.RequestException:
            return False

    try:
        wait_for(up, "nginx to listen")
        yield door
    finally:
        process.terminate()
        process.wait(timeout=15)
