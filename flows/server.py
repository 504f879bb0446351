"""A local Prefect server that outlives the runs: ``neurovar server start | status | stop``.

Without ``PREFECT_API_URL`` every ``neurovar run`` that computes starts Prefect's
temporary server, which costs seconds (and a database migration the first
time). ``neurovar server start`` runs ``prefect server start`` on 127.0.0.1 (or
``--host``) in the background, like ``dask scheduler``, and writes its address to
``$PREFECT_HOME/neurovar-server.json``; later runs find it there and use it,
so they start no server of their own. ``PREFECT_API_URL``, when set, wins.

Example
-------
>>> import os, tempfile
>>> os.environ["PREFECT_HOME"] = tempfile.mkdtemp()
>>> running_server_url() is None
True
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEFAULT_PORT = 4200


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")


def state_file() -> Path:
    return prefect_home() / "neurovar-server.json"


def _healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:
            return r.status == 200
    except Exception:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def read_state() -> dict | None:
    try:
        return json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None


def running_server_url() -> str | None:
    """The API URL of a server started by ``neurovar server start`` that is alive and healthy, else None."""
    st = read_state()
    if not st or not _alive(int(st.get("pid", 0) or 0)):
        return None
    return st["url"] if _healthy(st["url"]) else None


#: the variable that makes the Prefect server ask for basic auth (its clients set PREFECT_API_AUTH_STRING)
AUTH_VARIABLE = "PREFECT_SERVER_API_AUTH_STRING"


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def local_host(host: str) -> str:
    """The address this machine reaches a server on ``host`` at (a wildcard means loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, f"[{host}]" if ":" in host else host)


def open_without_auth(host: str) -> bool:
    """Whether a server on ``host`` would listen beyond loopback with no auth string set."""
    from .cluster import is_loopback

    return not is_loopback(f"http://[{host}]:0" if ":" in host else f"http://{host}:0") and not os.environ.get(AUTH_VARIABLE)


def start(port: int = DEFAULT_PORT, timeout: float = 240.0, host: str = "127.0.0.1") -> dict:
    """Start ``prefect server start`` on ``host`` in the background (its own session); wait until it answers."""
    url = running_server_url()
    if url:
        return {**(read_state() or {}), "already": True}
    if not _port_free(port, host):
        raise RuntimeError(f"port {port} is taken on {host}; choose another with --port")
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "neurovar-server.log"
    exe = Path(sys.executable).parent / "prefect"
    cmd = [str(exe) if exe.exists() else (shutil.which("prefect") or "prefect"), "server", "start",
           "--host", host, "--port", str(port)]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    url = f"http://{local_host(host)}:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with status {proc.returncode}; see {log}")
        if _healthy(url):
            st = {"pid": proc.pid, "url": url, "log": str(log), "host": host, "port": port}
            state_file().write_text(json.dumps(st))
            return st
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError(f"prefect server did not answer within {timeout:g} s; see {log}")


def stop(timeout: float = 20.0) -> dict | None:
    """Stop the server started by ``neurovar server start`` (its whole process group)."""
    st = read_state()
    if not st:
        return None
    pid = int(st.get("pid", 0) or 0)
    if pid and _alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    state_file().unlink(missing_ok=True)
    return st
