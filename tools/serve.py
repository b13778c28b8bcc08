"""`make run`'s entry point: `streamlit run app.py` that starts warming the default models the
moment the server starts (with STUDIO_WARMUP=1), not when the first visitor opens a page.

    python tools/serve.py --server.port 8501     # any `streamlit run` options

On an address beyond loopback (`make run ADDRESS=0.0.0.0`, for phones on the LAN) the app itself stays
on 127.0.0.1 and nginx answers on the address, adding the security headers Streamlit cannot set
(tools/serve_cluster.py's `nginx_config`: no framing by other sites, no content sniffing, a referrer
policy). Ctrl-C stops both. STUDIO_BEHIND_PROXY=1 skips that where a proxy of your own, with the same
headers, is the front (the app hosts of deploy/).
"""

import ipaddress
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREPARE_WITHIN_S = 4.0
sys.path.insert(0, str(REPO))

from streamlit.web import cli  # noqa: E402


def option(name: str, default: str) -> str:
    """The value of `--name value` or `--name=value` among this command's arguments."""
    arguments = sys.argv[1:]
    for index, argument in enumerate(arguments):
        if argument == name and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith(f"{name}="):
            return argument.split("=", 1)[1]
    return default


def beyond_loopback(address: str) -> bool:
    if address == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return True


def serve_behind_nginx(address: str, port: int) -> None:
    """The app on a loopback port of its own, nginx on `address`:`port` before it."""
    from tools.serve_cluster import app_replicas, nginx, stop_on_signals

    stop_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="studio-run-"))
    warm = os.environ.get("STUDIO_WARMUP", "0") == "1"
    try:
        with app_replicas(workdir, 1, {}, warm=warm) as ports, nginx(workdir, ports, port, address) as url:
            print(f"The studio is served at http://{address}:{port} through nginx ({url} here); logs in {workdir}")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopped.", flush=True)


if __name__ == "__main__":
    address = option("--server.address", "127.0.0.1")
    if beyond_loopback(address) and os.environ.get("STUDIO_BEHIND_PROXY") != "1":
        serve_behind_nginx(address, int(option("--server.port", "8501")))
        sys.exit(0)
    if os.environ.get("STUDIO_WARMUP", "0") == "1":
        # Off the main thread (the server binds its port at once), the same preparation app.py starts: once the
        # first page has been sent, or after a few seconds if nobody visits.
        from models.core.startup import prepare_in_background

        prepare_in_background(warm=True, within=PREPARE_WITHIN_S)
    sys.argv = ["streamlit", "run", str(REPO / "app.py"), *sys.argv[1:]]
    sys.exit(cli.main())
