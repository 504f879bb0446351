"""Real servers on 127.0.0.1 for end-to-end tests: Prefect server, Dask scheduler and workers."""

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
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_path(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else (shutil.which(name) or name)


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{text}")
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.5)
    text = log.read_text()[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout} s\n{text}")


def http_json(url: str, body: dict | None = None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode() or "null")


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def spawn(cmd: list[str], log: Path, env: dict | None = None, cwd=None) -> subprocess.Popen:
    fh = open(log, "wb")
    return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                            cwd=cwd, start_new_session=True)


def prefect_env(home: Path, port: int | None = None) -> dict:
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    if port is not None:
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    return env


@contextmanager
def prefect_server(tmp: Path, timeout: float = 240):
    """``prefect server start`` on a free port with its own PREFECT_HOME; yields the API URL."""
    port = free_port()
    home = tmp / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    log = tmp / "prefect-server.log"
    env = prefect_env(home)
    env["PREFECT_API_URL"] = ""
    proc = spawn([bin_path("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], log, env)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: http_json(f"{url}/health") is True, timeout, "prefect server", proc, log)
        yield url
    finally:
        stop(proc)


@contextmanager
def dask_scheduler(tmp: Path, timeout: float = 60):
    port = free_port()
    log = tmp / "dask-scheduler.log"
    proc = spawn([bin_path("dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                  "--no-dashboard"], log)
    addr = f"tcp://127.0.0.1:{port}"

    def up():
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    try:
        wait_for(up, timeout, "dask scheduler", proc, log)
        yield addr, proc
    finally:
        stop(proc)


def start_worker(tmp: Path, addr: str, name: str, extra_env: dict | None = None, nthreads: int = 1) -> subprocess.Popen:
    log = tmp / f"dask-worker-{name}.log"
    return spawn([bin_path("dask"), "worker", addr, "--nthreads", str(nthreads), "--nworkers", "1",
                  "--name", name, "--no-dashboard", "--host", "127.0.0.1"], log, extra_env)


def wait_workers(addr: str, n: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(addr, timeout="30s") as c:
        c.wait_for_workers(n, timeout=timeout)


# x^2 networks (3, k, 1) parametrize the symmetric 3x3 matrices of rank <= k:
# dimension 3k - k(k-1)/2 = 3, 5, 6 for k = 1, 2, 3.
SYMMETRIC_RANK_DIMENSIONS = [((3, 1, 1), 3), ((3, 2, 1), 5), ((3, 3, 1), 6)]


def symmetric_rank_grid(name: str) -> str:
    """A three-cell grid for end-to-end tests, with known dimensions ``SYMMETRIC_RANK_DIMENSIONS``."""
    return f"""
name: {name}
computations: [dimension]
model: mlp
axes:
  widths: [[3, 1, 1], [3, 2, 1], [3, 3, 1]]
  activation: ["x^2"]
  seed: [0]
timeout_s: 120
"""


def run_watching_solvers(runner, cell, is_solver) -> tuple[dict, list[int]]:
    """Run ``cell`` on ``runner`` (a ``CellRunner``), recording the pids of its child's descendants that
    ``is_solver(process)`` picks while it runs; the runner is killed afterwards. Returns (record, pids)."""
    import threading

    import psutil

    seen: list[int] = []

    def watch():
        while runner.proc is None or runner.proc.poll() is None:
            if runner.proc is not None:
                try:
                    seen.extend(c.pid for c in psutil.Process(runner.proc.pid).children(recursive=True)
                                if is_solver(c) and c.pid not in seen)
                except psutil.NoSuchProcess:
                    return
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()
    try:
        rec = runner.run(cell)
    finally:
        runner.kill()
    return rec, seen

