"""`make serve-cluster`: the scaled-out topology, all on this machine and on 127.0.0.1.

    python tools/serve_cluster.py                      # port 8500, 2 app replicas, every served model
    python tools/serve_cluster.py --app-replicas 3 --port 8600 --models translation-dates,sentiment-minilm
    python tools/serve_cluster.py --dashboard          # also Ray's dashboard, on 127.0.0.1:8265

1. A Ray head (`ray start --head --block`, its processes end with it), usage statistics off, its
   dashboard off unless asked for.
2. Each served model (the defaults and the user's, from studio.toml / STUDIO_MODELS) deployed as a Ray
   Serve application named by its id (`models/serving/deploy.py`), with its replicas' CPU shares scaled
   so that every replica, autoscaled ones included, fits on this machine's cores.
3. PostgreSQL (Debian's server) for the state every replica shares, class sessions and short links
   (`postgres`), unless STUDIO_DATABASE_URL already names a database.
4. N Streamlit replicas (`tools/serve.py`, STUDIO_BACKEND=ray) on the next N ports.
5. nginx in front of them on the port: sticky by a cookie, websockets passed through (`nginx_config`).

Ctrl-C (or SIGTERM) stops them all, newest first. Logs: the folder printed at the start. The pieces
(`ray_head`, `postgres`, `app_replicas`, `nginx`) are reused by tests/test_scale_out.py and bench/scale.py.
"""

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from database import URL_VARIABLE as DATABASE_ENV  # noqa: E402
from models.serving.client import ADDRESS_ENV, BACKEND_ENV, ray_environment  # noqa: E402 (light: no Ray import)

COOKIE = "studio_replica"  # names the app replica a browser is pinned to
# On every response nginx sends (`always`: error pages too), which Streamlit cannot add itself: no other
# site may frame the app (clickjacking), no content-type guessing, and no full address (a shared link's
# state) sent to other sites as the referrer.
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
SECURITY_HEADERS = "".join(f'            add_header {name} "{value}" always;\n' for name, value in HEADERS.items())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def started(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A child process with its output in `log`, stopped on the way out. In a session of its own, so that
    Ctrl-C reaches only the launcher, which stops its children in order."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def wait_until(check, what: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}; see {log}")
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not start within {timeout:.0f} s; see {log}")


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


@contextlib.contextmanager
def ray_head(workdir: Path, cpus: int, dashboard: bool = False, timeout: float = 120) -> Iterator[str]:
    """A one-node Ray cluster on 127.0.0.1; yields its address."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--num-cpus={cpus}",
        "--disable-usage-stats",
        f"--include-dashboard={'true' if dashboard else 'false'}",
        "--dashboard-host=127.0.0.1",
    ]
    address = f"127.0.0.1:{port}"
    log = workdir / "ray-head.log"
    with started(command, log, {**os.environ, **cluster_environment(address)}) as process:
        wait_until(lambda: "block forever" in log.read_text(), "The Ray head", process, log, timeout)
        yield address


def app_command(port: int, entry: tuple[str, ...] = ("tools/serve.py",)) -> list[str]:
    """One Streamlit replica on 127.0.0.1, started the way `make run` starts the app (models warmed at once),
    or with `entry` ("-m", "streamlit", "run", "app.py") as a bare one. Run from the repository: the rest
    (headless, no usage statistics, no file watcher) comes from its .streamlit/config.toml."""
    return [sys.executable, *entry, "--server.address", "127.0.0.1", "--server.port", str(port)]


@contextlib.contextmanager
def app_replicas(
    workdir: Path, count: int, env: dict[str, str], warm: bool = True, timeout: float = 180
) -> Iterator[list[int]]:
    """`count` Streamlit replicas with `env` added to this process' environment; yields their ports."""
    ports = [free_port() for _ in range(count)]
    with contextlib.ExitStack() as stack:
        launched = []
        for number, port in enumerate(ports, start=1):
            log = workdir / f"app-{number}.log"
            replica_env = {**os.environ, **env, "STUDIO_WARMUP": "1" if warm else "0", "PYTHONUNBUFFERED": "1"}
            launched.append((stack.enter_context(started(app_command(port), log, replica_env)), port, log))
        for process, port, log in launched:
            url = f"http://127.0.0.1:{port}/_stcore/health"
            wait_until(lambda url=url: answers(url), f"App replica on port {port}", process, log, timeout)
        yield ports


def nginx_config(servers: list[str], listen: str, workdir: Path) -> str:
    """nginx on `listen` (host:port) in front of the app replicas at `servers` (host:port each). A browser
    without the cookie goes to the replica with the fewest open connections (each tab keeps one websocket
    open); the response pins it there with the cookie, so its websocket, reruns and uploads reach the
    replica that holds its session. A pinned replica that is down hands its browsers to another one
    (a new session there)."""
    groups = [f"studio_{number}" for number in range(1, len(servers) + 1)]
    upstreams = []
    for group, server in zip(groups, servers, strict=True):
        backups = "".join(f"        server {other} backup;\n" for other in servers if other != server)
        upstreams.append(f"    upstream {group} {{\n        server {server};\n{backups}    }}\n")
    pinned = "".join(f"        {group} {group};\n" for group in groups)
    served_by = "".join(
        f"        ~{server.replace('.', '[.]')}$ {group};\n" for group, server in zip(groups, servers, strict=True)
    )
    anywhere = "".join(f"        server {server};\n" for server in servers)
    temp = workdir / "nginx-temp"
    return f"""# Written by tools/serve_cluster.py: nginx before {len(servers)} Streamlit replicas, cookie-sticky.
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    log_format studio '$remote_addr "$request" $status upstream=$upstream_addr cookie=$cookie_{COOKIE}';
    access_log {workdir}/nginx-access.log studio;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 200m;  # Streamlit's own upload limit

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}
    # Each replica's group, the others as its backups, for browsers pinned to it.
{"".join(upstreams)}    # Browsers without the cookie.
    upstream studio_any {{
        least_conn;
{anywhere}    }}
    map $cookie_{COOKIE} $studio_upstream {{
        default studio_any;
{pinned}    }}
    # The replica that answered (the last address tried), which the cookie names.
    map $upstream_addr $studio_served_by {{
        default "";
{served_by}    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://$studio_upstream;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1d;  # an idle websocket stays open
            proxy_send_timeout 1d;
            proxy_buffering off;  # streamed text reaches the browser as it is written
            add_header Set-Cookie "{COOKIE}=$studio_served_by; Path=/; HttpOnly; SameSite=Lax" always;
{SECURITY_HEADERS}        }}
    }}
}}
"""


def postgres_binaries() -> Path:
    """The folder of Debian's PostgreSQL programs (initdb, postgres), which are not on PATH there."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: `make serve-cluster` installs Debian's postgresql package.")
    return versions[-1].parent


def accepts(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, connect_timeout=2):
        return True


@contextlib.contextmanager
def postgres(timeout: float = 60) -> Iterator[str]:
    """A PostgreSQL server of its own: a fresh cluster in a temporary folder (removed on the way out), on a
    free port of 127.0.0.1 only, its superuser's password random (in the URL it yields, which only the app
    replicas get). PostgreSQL refuses to run as root, so under root it runs as `nobody`."""
    binaries = postgres_binaries()
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
    with tempfile.TemporaryDirectory(prefix="studio-postgres-") as folder:
        root = Path(folder)
        password = secrets.token_urlsafe(24)
        (root / "password").write_text(password)
        if as_nobody:
            for path in (root, root / "password"):
                shutil.chown(path, "nobody")
        subprocess.run(
            [*as_nobody, str(binaries / "initdb"), "-D", str(root / "data"), "-U", "studio", "-E", "UTF8",
             "-A", "scram-sha-256", f"--pwfile={root / 'password'}"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        port = free_port()
        command = [
            *as_nobody, str(binaries / "postgres"), "-D", str(root / "data"), "-p", str(port), "-k", str(root),
            "-c", "listen_addresses=127.0.0.1",
        ]  # fmt: skip
        url = f"postgresql://studio:{password}@127.0.0.1:{port}/postgres"
        log = root / "postgres.log"
        with started(command, log) as process:
            wait_until(lambda: accepts(url), "PostgreSQL", process, log, timeout)
            yield url


@contextlib.contextmanager
def shared_database() -> Iterator[str]:
    """The database the app replicas share: STUDIO_DATABASE_URL's, else a PostgreSQL of their own."""
    if os.environ.get(DATABASE_ENV):
        yield os.environ[DATABASE_ENV]
    else:
        with postgres() as url:
            yield url


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None)
    if found is None:
        raise RuntimeError("nginx is not installed: `make serve-cluster` installs Debian's nginx package.")
    return found


def listen_address(host: str, port: int) -> str:
    """host:port as nginx's `listen` and a URL write it (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@contextlib.contextmanager
def nginx(
    workdir: Path, app_ports: list[int], port: int, host: str = "127.0.0.1", timeout: float = 30
) -> Iterator[str]:
    """nginx with `nginx_config` on `host`:`port`; yields its URL (over loopback when it listens everywhere)."""
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "nginx-temp" / folder).mkdir(parents=True, exist_ok=True)
    config = workdir / "nginx.conf"
    config.write_text(nginx_config([f"127.0.0.1:{p}" for p in app_ports], listen_address(host, port), workdir))
    command = [nginx_binary(), "-p", str(workdir), "-c", str(config), "-e", str(workdir / "nginx-error.log")]
    url = f"http://{listen_address('127.0.0.1' if host in ('0.0.0.0', '::') else host, port)}"
    log = workdir / "nginx.log"
    with started(command, log) as process:
        wait_until(lambda: answers(f"{url}/_stcore/health"), "nginx", process, log, timeout)
        yield url


def serve_config(model_ids: list[str]) -> str:
    """A Ray Serve config file (`serve deploy`, or a KubeRay RayService's serveConfigV2) with one
    application per model, as `deploy` makes them."""
    import yaml

    applications = [
        {
            "name": model_id,
            "import_path": "models.serving.deploy:application",
            "route_prefix": f"/{model_id}",  # unused (no HTTP proxy), but Serve wants them distinct
            "args": {"model_id": model_id},
        }
        for model_id in model_ids
    ]
    return yaml.safe_dump({"proxy_location": "Disabled", "applications": applications}, sort_keys=False)


def served_model_ids() -> list[str]:
    """Every registered model of a served task: the defaults and the user's (studio.toml, STUDIO_MODELS)."""
    from models.core.registry import get_registry
    from models.serving.client import SERVED_TASKS

    return [spec.id for spec in get_registry().list() if spec.task in SERVED_TASKS]


def fit_to_cores(model_ids: list[str], cores: float, one_replica_each: bool = False):
    """The per-model scaling with CPU shares made small enough that every replica of every model, up to
    its `max_replicas` (or one each), fits on `cores` (Ray counts CPUs to place replicas; the threads
    are the OS's)."""
    from dataclasses import replace

    from models.serving.deploy import scaling_for

    def plan(model_id: str):
        base = scaling_for(model_id)
        return replace(base, min_replicas=1, max_replicas=1) if one_replica_each else base

    share = max(0.01, int(100 * cores / sum(plan(model_id).max_replicas for model_id in model_ids)) / 100)
    return lambda model_id: replace(plan(model_id), num_cpus=min(plan(model_id).num_cpus, share))


def cluster_environment(address: str) -> dict[str, str]:
    """`ray_environment`, and the repository on the path: the cluster's workers import the project's code
    (the replicas' models, `replicas_on_loopback`) from it."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**ray_environment(address), "PYTHONPATH": path}


def replicas_on_loopback() -> None:
    """Ray's worker setup hook for this one-machine cluster: Ray Serve 2.60 binds each replica's own gRPC
    server (calls between deployments) to every interface ("[::]:0", not configurable); here it binds
    127.0.0.1, like every other process of the cluster."""
    from ray.serve._private import replica

    bind = replica.add_port_to_grpc_server

    def bind_on_loopback(server, address: str) -> int:
        return bind(server, address.replace("[::]:", "127.0.0.1:", 1))

    replica.add_port_to_grpc_server = bind_on_loopback


def join_to_deploy(address: str) -> None:
    """Join the one-machine cluster at `address` as the driver that deploys: Serve's controller, started by
    this driver, hands its runtime environment on to every replica, so each one runs `replicas_on_loopback`
    first."""
    import logging

    from models.serving.client import NAMESPACE

    os.environ.update(cluster_environment(address))  # before anything imports Ray: it reads its environment then
    import ray

    ray.init(
        address=address,
        namespace=NAMESPACE,
        runtime_env={"worker_process_setup_hook": "tools.serve_cluster.replicas_on_loopback"},
        log_to_driver=False,
        logging_level=logging.WARNING,
    )


def deploy_models(address: str, model_ids: list[str], cores: float, one_replica_each: bool = False) -> None:
    """Deploy, then leave the cluster: the applications run on without this process."""
    from models.core.registry import get_registry

    join_to_deploy(address)
    import ray

    from models.serving.deploy import deploy

    try:
        specs = [get_registry().get(model_id) for model_id in model_ids]
        deploy(specs, fit_to_cores(model_ids, cores, one_replica_each))
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class Topology:
    url: str  # nginx's
    app_ports: list[int]
    ray_address: str


@contextlib.contextmanager
def topology(
    workdir: Path,
    port: int,
    app_replica_count: int,
    model_ids: list[str] | None = None,
    dashboard: bool = False,
    one_replica_each: bool = False,
) -> Iterator[Topology]:
    """The whole local topology, stopped on the way out."""
    os.environ.update(ray_environment("127.0.0.1"))  # for this process too, before it imports Ray
    cores = os.cpu_count() or 1
    with ray_head(workdir, cores, dashboard) as address:
        models = served_model_ids() if model_ids is None else model_ids
        print(f"Deploying {len(models)} models on the Ray cluster at {address}…", flush=True)
        deploy_models(address, models, cores, one_replica_each)
        print(f"Starting the shared database and {app_replica_count} app replicas…", flush=True)
        with shared_database() as database_url:
            env = {BACKEND_ENV: "ray", ADDRESS_ENV: address, DATABASE_ENV: database_url, **ray_environment(address)}
            with app_replicas(workdir, app_replica_count, env) as ports, nginx(workdir, ports, port) as url:
                yield Topology(url, ports, address)


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM end the run with KeyboardInterrupt, so that every `with` block stops its
    processes on the way out (also when started from a shell that had SIGINT ignored)."""
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8500, help="nginx's port on 127.0.0.1")
    parser.add_argument("--app-replicas", type=int, default=2, help="Streamlit replicas behind nginx")
    parser.add_argument("--models", default="all", help="comma-separated model ids, or 'all' served ones")
    parser.add_argument("--dashboard", action="store_true", help="start Ray's dashboard on 127.0.0.1:8265")
    parser.add_argument("--print-serve-config", action="store_true", help="print a Serve config file and exit")
    parser.add_argument(
        "--print-nginx-config", metavar="HOST:PORT,...", help="print nginx's configuration for these app replicas"
    )
    args = parser.parse_args()
    models = None if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    if args.print_serve_config:
        print(serve_config(served_model_ids() if models is None else models), end="")
        return
    if args.print_nginx_config:
        print(nginx_config(args.print_nginx_config.split(","), f"0.0.0.0:{args.port}", Path("/var/lib/nginx")), end="")
        return
    stop_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="studio-cluster-"))
    print(f"Logs and configuration: {workdir}", flush=True)
    try:
        with topology(workdir, args.port, args.app_replicas, models, args.dashboard) as running:
            stop_on_signals()  # again: joining the cluster to deploy replaced the SIGTERM handler
            print(f"\nThe studio is served at {running.url} (Ctrl-C stops everything)", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping nginx, the app replicas, PostgreSQL and the Ray cluster…", flush=True)
    print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
