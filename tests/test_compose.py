"""docker-compose.yml, checked and run without Docker.

No container engine runs here, so the test reads the compose file (PyYAML),
checks it against the rules of the Compose specification that matter for this
deployment, and then starts every service's command as a local process on
127.0.0.1, in ``depends_on`` order, with the service's environment interpolated
from a test ``.env``, waiting on each service's own health check command:

* hostnames (the service names, ``localhost``, ``0.0.0.0``) become 127.0.0.1 and
  every container port is remapped to a free local port (other tests share the
  machine); ``/app`` is this repository, named volumes are folders in tmp;
* PostgreSQL: the image's entrypoint is emulated with ``initdb`` (user, password,
  database from the environment) and the service's ``postgres`` command is run on
  a free port (as the ``postgres`` user when run as root). Without a PostgreSQL
  installation the Prefect server falls back to SQLite and the test says so;
* ``dask-worker`` runs two replicas (``--scale dask-worker=2``);
* the runner serves a small grid; one run of its (nightly) deployment is started
  through the API with the basic-auth credentials, and the catalog is checked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from neurovar.catalog import store

from .servers import bin_path, free_port, spawn, stop, symmetric_rank_grid, wait_for

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
TLS = ROOT / "deploy" / "docker-compose.tls.yml"

TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_NAME = re.compile(r"PASSWORD|AUTH|SECRET|TOKEN|CONNECTION_URL", re.I)
PUBLISHED = {"prefect-server": {4200}, "dask-scheduler": {8787}}


# ----------------------------------------------------------------- interpolation
_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


class MissingVariable(KeyError):
    pass


def interpolate(value, env: dict):
    """Compose-spec interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("plain")
        op, arg = m.group("op"), m.group("arg")
        val = env.get(name)
        unset = val is None or (op is not None and op.startswith(":") and val == "")
        if op in (":-", "-") and unset:
            return interpolate(arg, env)
        if op in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        return "" if val is None else val

    return _VAR.sub(sub, value)


def variables(text: str) -> set[str]:
    return {m.group("braced") or m.group("plain") for m in _VAR.finditer(text) if m.group(0) != "$$"}


def read_env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def load(path: Path = COMPOSE) -> dict:
    return yaml.safe_load(path.read_text())


def env_of(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_of(service: dict) -> list[str] | None:
    cmd = service.get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else cmd


def container_ports(service: dict) -> set[int]:
    return {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in service.get("ports", [])}


# ------------------------------------------------------------------ static rules
def test_compose_file_follows_the_spec_rules():
    raw = COMPOSE.read_text()
    doc = load()
    assert set(k for k in doc if not k.startswith("x-")) <= TOP_LEVEL
    services = doc["services"]
    assert {"postgres", "prefect-server", "dask-scheduler", "dask-worker", "runner"} <= set(services)
    named_volumes = set(doc.get("volumes") or {})
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        assert command_of(svc), f"{name}: no command"
        # every named volume used is declared at the top level
        for v in svc.get("volumes", []):
            source = v.split(":")[0] if isinstance(v, str) else v.get("source")
            if not source.startswith((".", "/", "$")):
                assert source in named_volumes, f"{name}: volume {source!r} not declared"
        # health checks: CMD/CMD-SHELL with a command
        hc = svc["healthcheck"]
        assert hc["test"][0] in ("CMD", "CMD-SHELL") and len(hc["test"]) > 1, name
        # depends_on: existing services, valid conditions, healthy only on services with a health check
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services and dep != name, f"{name} depends on unknown {dep}"
            assert spec["condition"] in CONDITIONS
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep]
        # published ports: only the Prefect UI and the Dask dashboard
        assert container_ports(svc) == PUBLISHED.get(name, set()), f"{name} publishes {svc.get('ports')}"
    assert "ports" not in services["postgres"] and "ports" not in services["dask-worker"]
    assert services["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # no cycles in depends_on
    order = start_order(services)
    assert order.index("postgres") < order.index("prefect-server") < order.index("runner")
    # no plaintext secrets: every secret-looking setting is a required variable from .env
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_NAME.search(key):
                refs = re.findall(r"\$\{(\w+)(:?[-?])?", value)
                assert refs, f"{name}.{key} holds a literal value"
                for var, op in refs:
                    if SECRET_NAME.search(var):
                        assert op == ":?", f"{name}.{key}: ${{{var}}} must be required (:?), with no default"
    assert not re.search(r"\$\{\w*(PASSWORD|AUTH_STRING)\w*:?-", raw)  # no default for a secret anywhere
    # the server is behind basic auth, and the clients send it
    assert "${PREFECT_AUTH_STRING:?" in env_of(services["prefect-server"])["PREFECT_SERVER_API_AUTH_STRING"]
    assert "${PREFECT_AUTH_STRING:?" in env_of(services["runner"])["PREFECT_API_AUTH_STRING"]
    assert env_of(services["prefect-server"])["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")


def test_without_a_dotenv_the_secrets_are_demanded():
    doc = load()
    with pytest.raises(MissingVariable) as e:
        interpolate(doc, {})
    assert "set it" in str(e.value) or "in .env" in str(e.value)
    example = read_env_file(ROOT / ".env.example")
    assert example["POSTGRES_PASSWORD"] == "" and example["PREFECT_AUTH_STRING"] == ""
    with pytest.raises(MissingVariable):  # the example's blanks must be filled in (':?' rejects empty)
        interpolate(doc, example)
    # every variable the compose files use is documented in .env.example
    used = variables(COMPOSE.read_text()) | variables(TLS.read_text())
    documented = set(example) | set(re.findall(r"^#\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used - {"POSTGRES_USER", "POSTGRES_DB"} <= documented | {"POSTGRES_USER", "POSTGRES_DB"}
    assert used <= documented, used - documented


def test_tls_override_is_dask_configuration():
    import dask.config

    tls = load(TLS)
    base = load()
    for name, svc in tls["services"].items():
        assert name in base["services"]
        env = env_of(svc)
        cfg = dask.config.collect_env(env)
        assert dask.config.get("distributed.comm.tls.ca-file", config=cfg) == "/certs/ca.pem"
        assert dask.config.get("distributed.comm.tls.scheduler.cert", config=cfg) == "/certs/node.pem"
        assert dask.config.get("distributed.comm.tls.client.key", config=cfg) == "/certs/node-key.pem"
        assert dask.config.get("distributed.comm.require-encryption", config=cfg) in (True, "true")
        assert any(v.endswith(":/certs:ro") for v in svc["volumes"])
    # the scheduler, workers and runner all take the protocol from DASK_PROTOCOL
    for name in ("dask-scheduler", "dask-worker", "runner"):
        text = " ".join(command_of(base["services"][name]))
        assert "${DASK_PROTOCOL:-tcp}" in text


def start_order(services: dict) -> list[str]:
    order, seen = [], set()

    def visit(n, stack=()):
        assert n not in stack, f"depends_on cycle through {n}"
        if n in seen:
            return
        for d in services[n].get("depends_on") or {}:
            visit(d, stack + (n,))
        seen.add(n)
        order.append(n)

    for n in services:
        visit(n)
    return order


# ------------------------------------------------------------- the local cluster
GRID = symmetric_rank_grid("compose_smoke")


def postgres_bindir() -> Path | None:
    for cand in [shutil.which("initdb"), *sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)]:
        if cand and Path(cand).exists():
            return Path(os.path.realpath(cand)).parent
    return None


class LocalCompose:
    """The services of docker-compose.yml as local processes (see the module docstring)."""

    def __init__(self, tmp: Path, env: dict, replicas: dict[str, int], doc: dict | None = None,
                 only: set[str] | None = None):
        self.tmp, self.env, self.replicas = tmp, env, replicas
        self.doc = interpolate(doc or load(), env)
        self.services = self.doc["services"]
        self.only = only or set(self.services)
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.ports: dict[int, int] = {}
        self.pg_bin = postgres_bindir()
        self.as_postgres = os.geteuid() == 0
        for svc in self.services.values():
            text = json.dumps(svc)
            for p in re.findall(r"(?<![\d.])(\d{4})(?!\d)", text):
                if int(p) in (4200, 5432, 8080, 8786, 8787, 8788):
                    self.ports.setdefault(int(p), free_port())
        self.volumes = {name: tmp / f"volume-{name}" for name in self.doc.get("volumes") or {}}
        for v in self.volumes.values():
            v.mkdir()

    # ---- translation from the container's world to this machine
    def local(self, s: str, ports: dict[int, int]) -> str:
        for p, q in ports.items():
            s = re.sub(rf"(?<![\d.]){p}(?!\d)", str(q), s)
        names = "|".join(map(re.escape, sorted(self.services, key=len, reverse=True)))
        s = re.sub(rf"(?<=//)({names}|localhost)(?=[:/])", "127.0.0.1", s)
        s = re.sub(rf"(?<=@)({names})(?=:)", "127.0.0.1", s)
        s = s.replace("0.0.0.0", "127.0.0.1")
        s = s.replace("/app/", f"{ROOT}/")
        return s

    def mounts(self, svc: dict) -> dict[str, Path]:
        out = {}
        for v in svc.get("volumes", []):
            src, dst = v.split(":")[:2]
            out[dst] = self.volumes.get(src, Path(src))
        return out

    def translate(self, a: str, svc: dict, ports: dict[int, int], name: str) -> str:
        a = self.local(a, ports)
        for dst, src in self.mounts(svc).items():
            if a == dst or a.startswith(dst + "/"):
                a = str(src) + a[len(dst):]
        if a.startswith("/tmp/") and not Path(a).exists():  # the container's scratch space
            a = str(self.tmp / name / a[5:])
        return a

    def argv(self, args: list[str], svc: dict, ports: dict[int, int], name: str) -> list[str]:
        out = [self.translate(a, svc, ports, name) for a in args]
        exe = out[0]
        if exe == "python":
            out[0] = sys.executable
        elif exe in ("prefect", "dask", "neurovar"):
            out[0] = bin_path(exe)
        elif self.pg_bin is not None and (self.pg_bin / exe).exists():
            out[0] = str(self.pg_bin / exe)
        return out

    def process_env(self, svc: dict, ports: dict[int, int], name: str) -> dict:
        keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        env = {**keep, **{k: self.translate(v, svc, ports, name) for k, v in env_of(svc).items()}}
        env.setdefault("PREFECT_HOME", str(self.tmp / name / "prefect-home"))
        if self.pg_bin is not None:
            env["PATH"] = f"{self.pg_bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    # ---- services
    def start_postgres(self, name: str, svc: dict) -> subprocess.Popen:
        env = env_of(svc)
        data = Path(tempfile.mkdtemp(prefix="neurovar-pg-"))
        os.chmod(data, 0o755)
        pwfile = data / "pw"
        pwfile.write_text(env["POSTGRES_PASSWORD"] + "\n")
        pgdata, sock = data / "data", data / "sock"
        sock.mkdir()
        wrap = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        if self.as_postgres:
            shutil.chown(data, "postgres")
            shutil.chown(sock, "postgres")
            shutil.chown(pwfile, "postgres")
        self.pg_data = data
        # the image's entrypoint: a cluster owned by POSTGRES_USER with its password, then POSTGRES_DB
        subprocess.run(wrap + [str(self.pg_bin / "initdb"), "-D", str(pgdata), "-U", env["POSTGRES_USER"],
                               f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=180)
        port = self.ports[5432]
        cmd = self.argv(command_of(svc), svc, self.ports, name)
        cmd += ["-D", str(pgdata), "-p", str(port), "-k", str(sock), "-c", "listen_addresses=127.0.0.1"]
        proc = spawn(wrap + cmd, self.tmp / f"{name}.log")
        pg_env = {**os.environ, "PGPASSWORD": env["POSTGRES_PASSWORD"]}
        wait_for(lambda: subprocess.run([str(self.pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                        capture_output=True).returncode == 0, 120, "postgres", proc,
                 self.tmp / f"{name}.log")
        subprocess.run([str(self.pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", env["POSTGRES_USER"],
                        env["POSTGRES_DB"]], check=True, env=pg_env, capture_output=True, timeout=60)
        return proc

    def healthy(self, name: str, svc: dict, ports: dict[int, int]) -> bool:
        test = svc["healthcheck"]["test"]
        env = {**os.environ, **self.process_env(svc, ports, name)}
        if test[0] == "CMD-SHELL":
            cmd = ["sh", "-c", self.local(test[1], ports)]
        else:
            cmd = self.argv(test[1:], svc, ports, name)
        return subprocess.run(cmd, env=env, capture_output=True, timeout=30).returncode == 0

    def up(self, sqlite_fallback: bool):
        for name in start_order(self.services):
            if name not in self.only:
                continue
            svc = self.services[name]
            for i in range(self.replicas.get(name, 1)):
                ports = dict(self.ports)
                if i > 0:  # a replica's own listening ports (not used by other services) move
                    own = {int(p) for p in re.findall(r":(\d{4})", json.dumps(svc["healthcheck"]))}
                    for p in own:
                        ports[p] = free_port()
                tag = name if i == 0 else f"{name}-{i + 1}"
                if name == "postgres":
                    if sqlite_fallback:
                        continue
                    proc = self.start_postgres(name, svc)
                else:
                    env = self.process_env(svc, ports, tag)
                    if name == "prefect-server" and sqlite_fallback:
                        env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{self.tmp / 'prefect.db'}"
                    (self.tmp / tag).mkdir(exist_ok=True)
                    proc = spawn(self.argv(command_of(svc), svc, ports, tag), self.tmp / f"{tag}.log", env, cwd=ROOT)
                self.procs.append((tag, proc))
                budget = 240 if name == "prefect-server" else 150
                wait_for(lambda: self.healthy(name, svc, ports), budget, f"{tag} health check", proc,
                         self.tmp / f"{tag}.log")

    def down(self):
        for tag, proc in reversed(self.procs):
            stop(proc, timeout=60)
        if getattr(self, "pg_data", None):
            shutil.rmtree(self.pg_data, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.tmp.glob("*.log")))


def merge(base: dict, override: dict) -> dict:
    """``docker compose -f base -f override``: environment merged by key, volumes by target path."""
    out = json.loads(json.dumps(base))
    for name, svc in override["services"].items():
        tgt = out["services"][name]
        tgt["environment"] = {**env_of(tgt), **env_of(svc)}
        vols = {v.split(":")[1]: v for v in tgt.get("volumes", [])}
        vols.update({v.split(":")[1]: v for v in svc.get("volumes", [])})
        tgt["volumes"] = list(vols.values())
    return out


def make_certificates(folder: Path) -> None:
    """A CA and one node certificate it signs (for 127.0.0.1 and the service names), as in docs/cluster.md."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    folder.mkdir()
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "neurovar test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in ("localhost", "dask-scheduler", "dask-worker", "runner")]
    node = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "neurovar")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "node.pem").write_bytes(node.public_bytes(serialization.Encoding.PEM))
    (folder / "node-key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))


@pytest.mark.slow
def test_dask_over_tls_with_the_override(tmp_path):
    """The scheduler and a worker with deploy/docker-compose.tls.yml: a TLS client computes a cell; plain TCP is refused."""
    from distributed import Client
    from distributed.security import Security

    certs = tmp_path / "certs"
    make_certificates(certs)
    env = {"POSTGRES_PASSWORD": secrets.token_hex(8), "PREFECT_AUTH_STRING": f"u:{secrets.token_hex(8)}",
           "DASK_PROTOCOL": "tls", "DASK_TLS_DIR": str(certs), "DASK_WORKER_MEMORY": "1GiB"}
    cluster = LocalCompose(tmp_path, env, replicas={}, doc=merge(load(), load(TLS)), only={"dask-scheduler", "dask-worker"})
    try:
        cluster.up(sqlite_fallback=True)
        port = cluster.ports[8786]
        sec = Security(tls_ca_file=str(certs / "ca.pem"), tls_client_cert=str(certs / "node.pem"),
                       tls_client_key=str(certs / "node-key.pem"), require_encryption=True)
        with Client(f"tls://127.0.0.1:{port}", security=sec, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
            assert all(a.startswith("tls://") for a in c.scheduler_info()["workers"])
            from neurovar.pipeline.cells import make_cell, run_cell

            rec = c.submit(run_cell, make_cell("dimension", {"model": "mlp", "widths": [3, 2, 1], "activation": "x^2"})).result()
            assert rec["dimension"] == 5  # symmetric 3x3 matrices of rank <= 2: 3*2 - 1
        with pytest.raises(Exception):  # a client without the certificates gets nowhere
            Client(f"tcp://127.0.0.1:{port}", timeout="5s", security=Security())
    except Exception:
        print(cluster.logs())
        raise
    finally:
        cluster.down()


def api(url: str, auth: str | None, body: dict | None = None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST", headers={"Content-Type": "application/json"})
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read().decode() or "null")


@pytest.mark.slow
def test_compose_services_run_as_local_processes(tmp_path):
    grid = tmp_path / "compose_smoke.yaml"
    grid.write_text(GRID)
    sqlite_fallback = postgres_bindir() is None
    if sqlite_fallback:
        print("PostgreSQL is not installed (apt-get install -y postgresql): "
              "the Prefect server runs on SQLite in this test")
    auth = f"neurovar:{secrets.token_hex(12)}"
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join([
        f"POSTGRES_PASSWORD={secrets.token_hex(16)}",
        f"PREFECT_AUTH_STRING={auth}",
        f"NEUROVAR_GRIDS={grid}",
        "DASK_WORKER_MEMORY=1GiB",
    ]) + "\n")
    env = read_env_file(dotenv)
    cluster = LocalCompose(tmp_path, env, replicas={"dask-worker": 2})
    try:
        cluster.up(sqlite_fallback)
        base = f"http://127.0.0.1:{cluster.ports[4200]}/api"
        # the API is behind basic auth
        with pytest.raises(urllib.error.HTTPError) as e:
            api(f"{base}/deployments/filter", None, {})
        assert e.value.code == 401
        deps = api(f"{base}/deployments/filter", auth, {})
        dep = next(d for d in deps if d["name"] == "compose_smoke")
        assert [s["schedule"]["cron"] for s in dep["schedules"]] == ["0 2 * * *"]
        # the Dask cluster: two workers (the two replicas), dashboard served
        from distributed import Client

        sched = f"tcp://127.0.0.1:{cluster.ports[8786]}"
        with Client(sched, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
            assert len(c.scheduler_info()["workers"]) == 2
        with urllib.request.urlopen(f"http://127.0.0.1:{cluster.ports[8787]}/status", timeout=20) as r:
            assert r.status == 200 and b"bokeh" in r.read().lower()
        # tonight's run, now
        fr = api(f"{base}/deployments/{dep['id']}/create_flow_run", auth, {})

        def finished():
            return api(f"{base}/flow_runs/{fr['id']}", auth)["state_type"] in ("COMPLETED", "FAILED", "CRASHED")

        wait_for(finished, 300, "the deployment's flow run")
        assert api(f"{base}/flow_runs/{fr['id']}", auth)["state_type"] == "COMPLETED", cluster.logs()
        results = cluster.volumes["results"]
        df = store.load("dimension", results)
        # x^2 networks (3, k, 1): symmetric 3x3 matrices of rank <= k, dimension 3k - k(k-1)/2
        assert sorted(zip(df["widths"].map(tuple), df["dimension"])) == [((3, 1, 1), 3), ((3, 2, 1), 5), ((3, 3, 1), 6)]
        runs = store.load_runs(results)
        assert list(runs["flow_run_id"]) == [fr["id"]] and runs["scheduler"].iloc[0] == sched
        if not sqlite_fallback:  # the server's database is the PostgreSQL one
            pg_env = {**os.environ, "PGPASSWORD": env["POSTGRES_PASSWORD"]}
            out = subprocess.run([str(cluster.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.ports[5432]),
                                  "-U", "prefect", "-d", "prefect", "-tAc",
                                  f"select state_type from flow_run where id = '{fr['id']}'"],
                                 capture_output=True, text=True, env=pg_env, timeout=60)
            assert out.stdout.strip() == "COMPLETED", out.stderr
    except Exception:
        print(cluster.logs())
        raise
    finally:
        cluster.down()
