"""Nobody else runs code on your account: TLS schedulers, loopback dashboards, warnings.

A Dask scheduler runs whatever Python its clients send. The scheduler that
``neurovar run --cluster slurm|pbs`` starts is built here exactly as that path
builds it (:func:`neurovar.flows.hpc.make_cluster`, no job submitted); its job
script is then run with bash, as the batch system would, so the ``dask worker``
is real. Every server listens on this machine only: 127.0.0.1, or this
machine's own non-loopback address where a test needs one.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from neurovar.catalog import store
from neurovar.flows.cluster import INSECURE_WARNING, dask_client
from neurovar.flows.hpc import close_cluster, load_cluster_config, make_cluster

from .servers import bin_path, prefect_server, spawn, stop, wait_for

ROOT = Path(__file__).resolve().parents[1]

# Linear networks (d0, 1, d2) parametrize the d2 x d0 matrices of rank <= 1, whose variety has
# dimension r (m + n - r): 3 for 2x2, 5 for 3x3; rank <= 2 in 3x3: 2 (3 + 3 - 2) = 8.
LINEAR_DIMENSIONS = [((2, 1, 2), 3), ((3, 1, 3), 5), ((3, 2, 3), 8)]
GRID = """
name: tls_smoke
computations: [dimension]
model: linear
axes:
  widths: [[2, 1, 2], [3, 1, 3], [3, 2, 3]]
timeout_s: 120
"""
WARN_TCP = "is plain tcp:// off loopback"


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback (None if it has none)."""
    import psutil

    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    return None


def free_port_on(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def slurm_config(tmp_path, **extra) -> dict:
    data = {"cores": 1, "processes": 1, "memory": "2GiB", "interface": "lo", "shared_temp_directory": str(tmp_path),
            **extra}
    p = tmp_path / "slurm.yaml"
    p.write_text(yaml.safe_dump(data))
    return load_cluster_config("slurm", p)


def identity(addr: str, timeout: float = 5, **connection_args) -> dict:
    """Connect to a Dask server and ask who it is (the first thing any client does)."""
    from distributed.comm import connect

    async def ask():
        comm = await connect(addr, timeout=timeout, **connection_args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    return asyncio.run(ask())


def unverified_context(cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """What an intruder's TLS client can do: trust any server, present its own certificate or none."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def child_reaches_scheduler(addr: str) -> str:
    """Run on a worker: a child process (as a cell's killable runner is) opens its own client of the
    scheduler from its environment alone, as neurovar.pipeline.compute.cluster does."""
    code = ("from neurovar.pipeline.compute.cluster import cluster_client\n"
            "c = cluster_client()\n"
            "print(c.scheduler.address if c is not None else 'none')\n")
    env = {**os.environ, "NEUROVAR_CLUSTER_SCHEDULER": addr}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-500:]


def test_slurm_scheduler_takes_only_its_own_tls_clients(tmp_path):
    from distributed import Client
    from distributed.security import Security

    from neurovar.pipeline.cells import make_cell
    from neurovar.pipeline.runner import run_batch

    cluster = make_cluster("slurm", slurm_config(tmp_path))
    job = None
    try:
        addr = cluster.scheduler_address
        assert addr.startswith("tls://127.0.0.1:")
        port = int(addr.rsplit(":", 1)[1])
        folder = Path(cluster.tls_folder)
        assert folder.parent == tmp_path and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert sorted(p.name for p in folder.iterdir()) == ["ca.pem", "node-key.pem", "node.pem"]
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())

        # the run's own credentials are let in (the control for the refusals below)
        assert identity(addr, **cluster.security.get_connection_args("client"))["type"] == "Scheduler"
        # a plain tcp:// client is refused
        with pytest.raises((OSError, asyncio.TimeoutError)):
            identity(f"tcp://127.0.0.1:{port}")
        with pytest.raises((OSError, asyncio.TimeoutError)):
            Client(f"tcp://127.0.0.1:{port}", timeout="5s")
        # a tls:// client without the run's credentials is refused: with no certificate ...
        with pytest.raises((OSError, asyncio.TimeoutError)):
            identity(addr, ssl_context=unverified_context())
        # ... and with a certificate of its own
        other = Security.temporary()
        (tmp_path / "other.pem").write_text(other.tls_client_cert)
        (tmp_path / "other-key.pem").write_text(other.tls_client_key)
        with pytest.raises((OSError, asyncio.TimeoutError)):
            identity(addr, ssl_context=unverified_context(tmp_path / "other.pem", tmp_path / "other-key.pem"))
        with pytest.raises((OSError, asyncio.TimeoutError)):
            Client(addr, security=other, timeout="5s")

        # the job script, run as the batch system would, starts a real worker with the credentials
        script = cluster.job_script()
        for flag, name in (("--tls-ca-file", "ca.pem"), ("--tls-cert", "node.pem"), ("--tls-key", "node-key.pem")):
            assert f"{flag} {folder / name}" in script
        (tmp_path / "job.sh").write_text(script)
        job = spawn(["bash", str(tmp_path / "job.sh")], tmp_path / "job.log")
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=120)
            assert all(w.startswith("tls://") for w in client.scheduler_info()["workers"])
            cell = make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]})
            [rec] = client.submit(run_batch, [cell], pure=False).result(timeout=120)
            assert rec["status"] == "ok" and rec["dimension"] == 3  # rank <= 1 in 2x2: 1 (2 + 2 - 1)
            # a cell's child process reaches the scheduler too (the worker's environment holds the client settings)
            assert client.submit(child_reaches_scheduler, addr, pure=False).result(timeout=180) == addr
    finally:
        if job is not None:
            stop(job)
        close_cluster(cluster)
    assert not folder.exists()  # the run's credentials go with the run


def test_pbs_scheduler_is_tls_too(tmp_path):
    p = tmp_path / "pbs.yaml"
    p.write_text(yaml.safe_dump({"cores": 2, "memory": "2GiB", "interface": "lo", "shared_temp_directory": str(tmp_path)}))
    cluster = make_cluster("pbs", load_cluster_config("pbs", p))
    try:
        assert cluster.scheduler_address.startswith("tls://")
        script = cluster.job_script()
        assert "--protocol tls://" in script and f"--tls-key {cluster.tls_folder / 'node-key.pem'}" in script
    finally:
        close_cluster(cluster)


def test_insecure_cluster_is_plain_tcp(tmp_path):
    cluster = make_cluster("slurm", slurm_config(tmp_path), insecure=True)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert identity(cluster.scheduler_address)["type"] == "Scheduler"  # anyone is let in
        assert "--tls-" not in cluster.job_script() and cluster.security.require_encryption is False
        assert list(tmp_path.glob("run-*")) == []  # no credentials made
    finally:
        close_cluster(cluster)


def test_cluster_uses_your_own_certificates_when_given(tmp_path):
    from neurovar.flows.cluster import configure_security

    files = write_credentials(tmp_path)
    configure_security(tls_ca_file=files["ca"], tls_cert=files["cert"], tls_key=files["key"])
    try:
        cluster = make_cluster("slurm", slurm_config(tmp_path))
    finally:
        configure_security()
    try:
        assert cluster.tls_folder is None and list(tmp_path.glob("run-*")) == []  # no credentials of its own
        assert cluster.scheduler_address.startswith("tls://")
        assert f"--tls-ca-file {files['ca']} --tls-cert {files['cert']} --tls-key {files['key']}" in cluster.job_script()
        assert identity(cluster.scheduler_address, **cluster.security.get_connection_args("client"))["type"] == "Scheduler"
        with pytest.raises((OSError, asyncio.TimeoutError)):
            identity(cluster.scheduler_address, ssl_context=unverified_context())
    finally:
        close_cluster(cluster)


def test_local_dashboard_answers_on_loopback_only(capsys):
    ip = non_loopback_ipv4()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to probe the dashboard on")
    with dask_client(workers=1) as client:
        err = capsys.readouterr().err
        links = re.findall(r"^dashboard: (http://127\.0\.0\.1:(\d+)/status)$", err, re.M)
        assert len(links) == 1, err  # printed once
        link, port = links[0][0], int(links[0][1])
        with urllib.request.urlopen(link, timeout=30) as r:
            assert r.status == 200
        assert not answers(ip, port)  # not on the machine's other address
        sched_port = int(client.scheduler.address.rsplit(":", 1)[1])
        assert client.scheduler.address.startswith("tcp://127.0.0.1:") and not answers(ip, sched_port)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory):
    with prefect_server(tmp_path_factory.mktemp("prefect")) as url:
        yield url


def run_env(tmp_path, api_url) -> dict:
    return {"PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "ph"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def check_catalog(results: Path) -> None:
    df = store.load("dimension", results)
    assert sorted(zip(df["widths"].map(tuple), df["dimension"])) == LINEAR_DIMENSIONS


@pytest.mark.slow
def test_insecure_run_warns_and_works(cli, tmp_path, api_url):
    """``--insecure`` with a SLURM run (the one-machine batch system of test_hpc): plain tcp://, one warning."""
    from .test_hpc import local_batch_system

    bindir, logdir = local_batch_system(tmp_path)
    cfg = tmp_path / "slurm.yaml"
    cfg.write_text(yaml.safe_dump({"cores": 1, "processes": 1, "memory": "2GiB", "interface": "lo",
                                   "shared_temp_directory": str(tmp_path), "log_directory": str(tmp_path / "joblogs")}))
    (tmp_path / "grid.yaml").write_text(GRID)
    env = {**run_env(tmp_path, api_url), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    p = cli("run", tmp_path / "grid.yaml", "--cluster", "slurm", "--cluster-config", cfg, "--workers", "1",
            "--insecure", "--results", tmp_path / "r", env=env, timeout=400)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stderr.count(INSECURE_WARNING) == 1
    assert re.search(r"^dashboard: http://127\.0\.0\.1:\d+/status$", p.stderr, re.M)
    [job] = list(logdir.glob("job-*.sh"))
    assert " tcp://127.0.0.1:" in job.read_text() and "--tls-" not in job.read_text()
    check_catalog(tmp_path / "r")


@pytest.mark.slow
def test_tcp_scheduler_off_loopback_warns_and_works(cli, tmp_path, api_url):
    ip = non_loopback_ipv4()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to start a scheduler on")
    port = free_port_on(ip)
    addr = f"tcp://{ip}:{port}"
    sched = spawn([bin_path("dask"), "scheduler", "--host", ip, "--port", str(port), "--no-dashboard"],
                  tmp_path / "scheduler.log")
    worker = None
    try:
        wait_for(lambda: answers(ip, port), 60, "dask scheduler", sched, tmp_path / "scheduler.log")
        worker = spawn([bin_path("dask"), "worker", addr, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                        "--host", ip], tmp_path / "worker.log")
        (tmp_path / "grid.yaml").write_text(GRID)
        p = cli("run", tmp_path / "grid.yaml", "--scheduler", addr, "--results", tmp_path / "r",
                env=run_env(tmp_path, api_url), timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        warnings = [line for line in p.stderr.splitlines() if WARN_TCP in line]
        assert len(warnings) == 1 and warnings[0].startswith(f"warning: {addr} ")
        check_catalog(tmp_path / "r")
    finally:
        if worker is not None:
            stop(worker)
        stop(sched)


def write_credentials(folder: Path) -> dict[str, Path]:
    from distributed.security import Security

    sec = Security.temporary()
    files = {"ca": folder / "ca.pem", "cert": folder / "node.pem", "key": folder / "node-key.pem"}
    files["ca"].write_text(sec.tls_ca_file)
    files["cert"].write_text(sec.tls_scheduler_cert)
    files["key"].write_text(sec.tls_scheduler_key)
    return files


@pytest.mark.slow
def test_tls_scheduler_with_flags_and_with_dask_settings(cli, tmp_path, api_url):
    """A user's own TLS cluster: ``--tls-*`` flags, or the standard DASK_DISTRIBUTED__COMM__TLS__* settings."""
    from .servers import free_port

    files = write_credentials(tmp_path)
    tls = ["--tls-ca-file", str(files["ca"]), "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"])]
    port = free_port()
    addr = f"tls://127.0.0.1:{port}"
    sched = spawn([bin_path("dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                   "--protocol", "tls", *tls], tmp_path / "scheduler.log")
    worker = None
    (tmp_path / "grid.yaml").write_text(GRID)
    try:
        wait_for(lambda: answers("127.0.0.1", port), 60, "dask scheduler", sched, tmp_path / "scheduler.log")
        worker = spawn([bin_path("dask"), "worker", addr, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                        "--host", "127.0.0.1", *tls], tmp_path / "worker.log")
        # without certificates: a one-line error naming the flags, exit 2, nothing written
        p = cli("run", tmp_path / "grid.yaml", "--scheduler", addr, "--results", tmp_path / "none", timeout=120)
        assert p.returncode == 2 and "--scheduler" in p.stderr and "--tls-ca-file" in p.stderr, p.stderr
        assert not (tmp_path / "none").exists()
        p = cli("run", tmp_path / "grid.yaml", "--scheduler", addr, *tls, "--results", tmp_path / "r",
                env=run_env(tmp_path, api_url), timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        assert WARN_TCP not in p.stderr
        check_catalog(tmp_path / "r")
        env = {**run_env(tmp_path, api_url), "DASK_SCHEDULER_ADDRESS": addr,
               "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(files["ca"]),
               "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(files["cert"]),
               "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(files["key"])}
        p = cli("run", tmp_path / "grid.yaml", "--results", tmp_path / "r2", env=env, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        check_catalog(tmp_path / "r2")
    finally:
        if worker is not None:
            stop(worker)
        stop(sched)


def test_missing_tls_file_exits_2(cli, tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID)
    p = cli("run", tmp_path / "grid.yaml", "--scheduler", "tls://127.0.0.1:1", "--tls-ca-file", tmp_path / "nope.pem",
            "--results", tmp_path / "r", timeout=120)
    assert p.returncode == 2 and "--tls-ca-file: no such file" in p.stderr, p.stderr
    assert not (tmp_path / "r").exists()


def test_server_warns_only_off_loopback_without_an_auth_string(monkeypatch):
    from neurovar.flows import server

    monkeypatch.delenv(server.AUTH_VARIABLE, raising=False)
    assert server.open_without_auth("0.0.0.0") and server.open_without_auth("192.0.2.7")
    assert not server.open_without_auth("127.0.0.1") and not server.open_without_auth("localhost")
    monkeypatch.setenv(server.AUTH_VARIABLE, "admin:pass")
    assert not server.open_without_auth("0.0.0.0")


@pytest.mark.slow
def test_server_start_binds_loopback_unless_host_is_given(cli, tmp_path, monkeypatch):
    """``neurovar server start``: on 127.0.0.1 by default; ``--host`` binds there, warns without an auth string;
    each prints the address it serves on."""
    from .servers import http_json

    ip = non_loopback_ipv4()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to probe the server on")
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    env = {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_API_URL": "", "PREFECT_UI_ENABLED": "false"}
    port = free_port_on("127.0.0.1")
    p = cli("server", "start", "--port", port, env=env, timeout=300)
    try:
        assert p.returncode == 0, p.stderr
        assert f"http://127.0.0.1:{port}/api" in " ".join(p.stdout.split()) and "warning" not in p.stderr
        assert http_json(f"http://127.0.0.1:{port}/api/health") is True
        assert not answers(ip, port)
    finally:
        assert cli("server", "stop", env=env).returncode == 0
    port = free_port_on(ip)
    p = cli("server", "start", "--host", ip, "--port", port, env=env, timeout=300)
    try:
        assert p.returncode == 0, p.stderr
        warnings = [line for line in p.stderr.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1 and f"--host {ip}" in warnings[0] and "PREFECT_SERVER_API_AUTH_STRING" in warnings[0]
        assert f"http://{ip}:{port}/api" in " ".join(p.stdout.split())
        assert http_json(f"http://{ip}:{port}/api/health") is True
    finally:
        assert cli("server", "stop", env=env).returncode == 0
