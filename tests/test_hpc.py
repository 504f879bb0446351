"""HPC clusters through dask-jobqueue: the job scripts, bad configs, and a grid run on batch jobs.

No SLURM or PBS runs here, so the end-to-end test puts a minimal batch system on
PATH: ``sbatch``/``qsub`` run the generated job script with bash on this machine
(detached) and print a job id, ``scancel``/``qdel`` kill it. The job script, the
``dask worker`` it starts and the scheduler inside ``neurovar run`` are all real.
"""

import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml

from neurovar.catalog import store
from neurovar.flows.hpc import allowed_keys, close_cluster, load_cluster_config, make_cluster
from neurovar.pipeline.errors import SpecError

from .servers import symmetric_rank_grid

ROOT = Path(__file__).resolve().parents[1]

CONFIG = {
    "queue": "short",
    "account": "neuroalg",
    "cores": 4,
    "processes": 2,
    "memory": "8GiB",
    "walltime": "01:30:00",
    "job_extra_directives": ["--constraint=skylake"],
    "job_script_prologue": ["export NEUROVAR_MARK=1"],
    "scheduler_options": {"dashboard_address": "127.0.0.1:0"},
    "interface": "lo",
}


def write(tmp_path, data, name="c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def directives(script: str, prefix: str) -> list[str]:
    return [line[len(prefix):].strip() for line in script.splitlines() if line.startswith(prefix)]


def worker_line(script: str) -> str:
    lines = [line for line in script.splitlines() if "distributed.cli.dask_worker" in line]
    assert len(lines) == 1
    return lines[0]


def test_slurm_job_script_has_the_configured_directives(tmp_path):
    cfg = load_cluster_config("slurm", write(tmp_path, {**CONFIG, "shared_temp_directory": str(tmp_path)}))
    cluster = make_cluster("slurm", cfg)
    try:
        script = cluster.job_script()
        d = directives(script, "#SBATCH")
        assert "-p short" in d and "-A neuroalg" in d and "-t 01:30:00" in d
        assert "--cpus-per-task=4" in d and "--mem=8G" in d and "--constraint=skylake" in d
        assert "export NEUROVAR_MARK=1" in script
        w = worker_line(script)
        # 2 worker processes sharing 4 cores (2 threads each) and 8 GiB (4 GiB each)
        assert f"{sys.executable} -m distributed.cli.dask_worker {cluster.scheduler_address}" in w
        assert "--nworkers 2" in w and "--nthreads 2" in w and "--memory-limit 4.00GiB" in w
        # TLS with the run's own credentials (tests/test_security.py checks what they let in)
        assert cluster.scheduler_address.startswith("tls://")
        assert f"--tls-cert {cluster.tls_folder / 'node.pem'}" in w
    finally:
        close_cluster(cluster)


def test_pbs_job_script_has_the_configured_directives(tmp_path):
    cfg = load_cluster_config("pbs", write(tmp_path, {"pbs": {**CONFIG, "queue": "workq",
                                                              "shared_temp_directory": str(tmp_path)}}))  # nested form
    cluster = make_cluster("pbs", cfg)
    try:
        script = cluster.job_script()
        d = directives(script, "#PBS")
        assert "-q workq" in d and "-A neuroalg" in d and "-l walltime=01:30:00" in d
        # PBS takes the memory in the resource request: 8 GiB = 8 * 2^30 bytes = 8589934592 bytes = 9GB (rounded)
        assert any(x.startswith("-l select=1:ncpus=4:mem=") for x in d)
        w = worker_line(script)
        assert "--nworkers 2" in w and "--nthreads 2" in w and "--memory-limit 4.00GiB" in w
    finally:
        close_cluster(cluster)


def test_example_configs_load():
    for kind in ("slurm", "pbs"):
        cfg = load_cluster_config(kind, ROOT / "deploy" / f"{kind}.yaml")
        assert cfg["cores"] == 8 and cfg["processes"] == 8 and cfg["walltime"] == "04:00:00"
        assert set(cfg) <= set(allowed_keys(kind))


@pytest.mark.parametrize("data, needle", [
    ({"cores": 4}, "missing 'memory'"),
    ({"cores": 0, "memory": "1GB"}, "cores must be a positive integer"),
    ({"cores": 2, "processes": 4, "memory": "1GB"}, "cannot exceed cores"),
    ({"cores": 2, "memory": "lots"}, "memory must be an amount"),
    ({"cores": 2, "memory": "1GB", "walltime": 3600}, "walltime must be HH:MM:SS"),
    ({"cores": 2, "memory": "1GB", "resource_spec": "x"}, "that is a pbs setting"),
    ({"cores": 2, "memory": "1GB", "partition": "x"}, "unknown setting 'partition'"),
    ("cores: [", "not valid YAML"),
    ("- 1\n- 2\n", "must hold a mapping"),
])
def test_bad_config_names_the_flag_and_the_fix(tmp_path, data, needle):
    with pytest.raises(SpecError) as e:
        load_cluster_config("slurm", write(tmp_path, data))
    assert e.value.field == "--cluster-config" and needle in e.value.message


def test_bad_kind_and_missing_file():
    with pytest.raises(SpecError) as e:
        load_cluster_config("lsf", "x.yaml")
    assert e.value.field == "--cluster" and "slurm, pbs" in e.value.message
    with pytest.raises(SpecError) as e:
        load_cluster_config("slurm", None)
    assert e.value.field == "--cluster-config" and "deploy/slurm.yaml" in e.value.message


def test_cli_bad_cluster_config_exits_2(cli, tmp_path):
    bad = write(tmp_path, {"cores": 4, "memory": "8GB", "walltime": "forever"}, "bad.yaml")
    p = cli("run", ROOT / "grids/quickstart.yaml", "--cluster", "slurm", "--cluster-config", bad,
            "--results", tmp_path / "r", timeout=120)
    assert p.returncode == 2
    assert "--cluster-config" in p.stderr and "walltime must be HH:MM:SS" in p.stderr
    p = cli("run", ROOT / "grids/quickstart.yaml", "--cluster", "sge", "--cluster-config", bad, timeout=120)
    assert p.returncode == 2 and "--cluster: unknown batch system 'sge'" in p.stderr
    assert not (tmp_path / "r").exists()  # nothing written


SUBMIT = """#!/bin/sh
# a one-machine batch system: run the job script detached, print its id
# (the submitter deletes its temporary script when this returns: keep a copy)
cp "$1" "{log}/job-$$.sh"
setsid bash "{log}/job-$$.sh" > "{log}/job-$$.log" 2>&1 < /dev/null &
echo "$!" >> "{log}/jobs"
echo "{fmt}"
"""
CANCEL = """#!/bin/sh
for id in "$@"; do id="${{id%%.*}}"; kill -TERM -- "-$id" 2>/dev/null || kill -TERM "$id" 2>/dev/null; done
exit 0
"""


def local_batch_system(tmp_path) -> tuple[Path, Path]:
    bindir, logdir = tmp_path / "bin", tmp_path / "jobs"
    bindir.mkdir()
    logdir.mkdir()
    for name, text in {
        "sbatch": SUBMIT.format(log=logdir, fmt="Submitted batch job $!"),
        "qsub": SUBMIT.format(log=logdir, fmt="$!.localhost"),
        "scancel": CANCEL.format(),
        "qdel": CANCEL.format(),
    }.items():
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755 | stat.S_IEXEC)
    return bindir, logdir


GRID = symmetric_rank_grid("hpc_smoke")


@pytest.mark.slow
def test_grid_runs_on_batch_jobs(cli, tmp_path):
    """``neurovar run --cluster slurm``: the job script starts real workers; the catalog holds the
    dimensions of rank-<=k symmetric 3x3 matrices (x^2 networks (3, k, 1)): 3k - k(k-1)/2 = 3, 5, 6."""
    bindir, logdir = local_batch_system(tmp_path)
    cfg = write(tmp_path, {**CONFIG, "cores": 1, "processes": 1, "memory": "2GiB",
                           "log_directory": str(tmp_path / "joblogs"), "shared_temp_directory": str(tmp_path / "tls")})
    grid = write(tmp_path, GRID, "grid.yaml")
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "PREFECT_HOME": str(tmp_path / "ph"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": ""}
    p = cli("run", grid, "--cluster", "slurm", "--cluster-config", cfg, "--workers", "1",
            "--results", tmp_path / "r", "--json", env=env, timeout=400)
    logs = "\n".join(f.read_text()[-1500:] for f in logdir.glob("job-*.log"))
    assert p.returncode == 0, p.stderr[-3000:] + logs
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert summary["computed"] == 3 and summary["ok"] == 3
    df = store.load("dimension", tmp_path / "r")
    assert sorted(zip(df["widths"].map(tuple), df["dimension"])) == [((3, 1, 1), 3), ((3, 2, 1), 5), ((3, 3, 1), 6)]
    jobs = (logdir / "jobs").read_text().split()
    assert len(jobs) == 1  # --workers 1: one batch job
    script = next(logdir.glob("job-*.sh")).read_text()
    assert " tls://127.0.0.1:" in script and "--tls-key " in script  # TLS by default
    assert list((tmp_path / "tls").iterdir()) == []  # the run's credentials went with it
    runs = store.load_runs(tmp_path / "r")
    assert runs["scheduler"].iloc[0] == "slurm"
    # the job was cancelled at the end of the run
    import time

    for _ in range(40):
        if not Path(f"/proc/{jobs[0]}").exists() or "Z" in Path(f"/proc/{jobs[0]}/stat").read_text().split()[2]:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"job {jobs[0]} still running after the run ended")
