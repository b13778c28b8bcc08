"""Security headers (issue 27): nginx, in front of the app wherever it is reachable beyond this machine
(`make serve-cluster`, `make run ADDRESS=...`), adds the headers Streamlit cannot set to every response."""

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import REPO, free_port, listening_sockets, on_loopback, wait_for_health
from tools.serve_cluster import HEADERS, nginx


def headers_of(url: str) -> dict[str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(response.headers)
    except urllib.error.HTTPError as error:  # an error page: it must carry them too
        return dict(error.headers)


class Upstream(BaseHTTPRequestHandler):
    """A stand-in for the app: healthy, and 404 for everything else."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/_stcore/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_nginx_adds_the_security_headers_to_every_response(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with nginx(tmp_path, [server.server_address[1]], free_port()) as url:
            for path in ("/_stcore/health", "/no-such-page"):
                received = headers_of(url + path)
                assert {name: received.get(name) for name in HEADERS} == HEADERS, path
    finally:
        server.shutdown()


def test_make_run_beyond_loopback_puts_nginx_before_an_app_on_loopback():
    """`make run ADDRESS=0.0.0.0`: nginx answers on every interface with the headers, the app itself
    listens on 127.0.0.1 only."""
    port = free_port()
    command = [sys.executable, "tools/serve.py", "--server.address", "0.0.0.0", "--server.port", str(port)]
    env = {**os.environ, "STUDIO_WARMUP": "0"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, process, timeout=120)
        received = headers_of(url + "/")
        assert {name: received.get(name) for name in HEADERS} == HEADERS
        sockets = listening_sockets(process.pid)
        assert {ip for name, ip, p in sockets if name == "nginx" and p == port} == {"0.0.0.0"}  # master and worker
        app = [(name, ip, p) for name, ip, p in sockets if name != "nginx"]
        assert app and all(on_loopback(ip) for _, ip, _ in app), app
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("tools/serve.py did not stop on SIGTERM")
