"""External solvers as processes that die with their cell, and their temporary folders.

Every external solver (msolve, and any later one) is started through
:func:`run_solver`:

- it stays in the process group of the process that starts it. A cell with a
  time limit runs in the runner's child interpreter, which is the leader of its
  own session and process group (see :mod:`neurovar.pipeline.runner`), so a
  timeout or an interrupt that kills the group kills the solver with it;
- on Linux it is also started under ``setpriv --pdeathsig KILL``, so it gets
  SIGKILL when the thread that started it dies (a SIGKILLed Dask worker, for
  a cell without a time limit);
- a solver past its own time limit is killed and waited for.

Solvers write their files under :func:`solver_tempdir`, a folder named
``<solver>-<pid>-<random>`` after the Python process that owns it. The folder
is removed when the solver returns, fails or times out; a folder whose owner
was SIGKILLed is removed by :func:`remove_stale_tempdirs`, which the cell
runner calls when it starts and after it kills its child.

Example
-------
>>> import os
>>> with solver_tempdir("msolve") as tmp:
...     os.path.basename(tmp).startswith(f"msolve-{os.getpid()}-")
True
>>> out = run_solver(["echo", "42"], timeout=10)
>>> out.returncode, out.stdout.strip()
(0, '42')
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

#: name prefixes of the solvers' temporary folders (``<prefix>-<owner pid>-<random>``)
SOLVER_PREFIXES = ("msolve",)

_SETPRIV = shutil.which("setpriv") if os.name == "posix" else None
_PDEATHSIG: bool | None = None


def _pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL`` where it works (util-linux on Linux), else nothing."""
    global _PDEATHSIG
    if _SETPRIV is None:
        return []
    if _PDEATHSIG is None:
        try:
            _PDEATHSIG = subprocess.run([_SETPRIV, "--pdeathsig", "KILL", "true"], capture_output=True,
                                        timeout=10).returncode == 0
        except Exception:
            _PDEATHSIG = False
    return [_SETPRIV, "--pdeathsig", "KILL"] if _PDEATHSIG else []


class SolverTimeout(Exception):
    """The solver did not finish within its time limit and was killed."""

    def __init__(self, timeout: float | None):
        super().__init__(f"did not finish within {timeout} s (killed)")
        self.timeout = timeout


def run_solver(args: Sequence[str], timeout: float | None = None, input: str | None = None,
               cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run a solver executable to completion; kill it (and wait) if it outlives ``timeout``.

    Returns the ``CompletedProcess`` (text ``stdout``/``stderr``); raises
    :class:`SolverTimeout` after killing it on expiry. An exception in the
    calling thread (e.g. ``KeyboardInterrupt``) also kills the solver.
    """
    proc = subprocess.Popen(_pdeathsig_prefix() + list(args), stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise SolverTimeout(timeout) from None
    except BaseException:
        _kill(proc)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _kill(proc: subprocess.Popen) -> None:
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=10)
    except Exception:
        pass


@contextmanager
def solver_tempdir(solver: str) -> Iterator[str]:
    """A temporary folder ``<solver>-<pid>-<random>`` owned by this process, removed on exit."""
    with tempfile.TemporaryDirectory(prefix=f"{solver}-{os.getpid()}-") as tmp:
        yield tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def remove_stale_tempdirs(owners: Sequence[int] | None = None, root: str | None = None) -> list[str]:
    """Remove the solver folders whose owning process is dead.

    Parameters
    ----------
    owners : sequence of int, optional
        Only folders of these process ids (those of a child just killed); by
        default every dead owner's folder.
    root : str, optional
        The temporary directory (default ``tempfile.gettempdir()``).

    Returns the removed paths. Folders of living processes, and folders whose
    name carries no owner, are left alone.
    """
    root = root or tempfile.gettempdir()
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    wanted = None if owners is None else {int(p) for p in owners}
    for e in entries:
        parts = e.name.split("-")
        if len(parts) < 3 or parts[0] not in SOLVER_PREFIXES or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if (wanted is not None and pid not in wanted) or _alive(pid):
            continue
        try:
            if e.is_dir(follow_symlinks=False) and Path(e.path).stat().st_uid == os.getuid():
                shutil.rmtree(e.path, ignore_errors=True)
                removed.append(e.path)
        except OSError:
            pass
    return removed


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group led by ``pid`` (a runner child and its solvers)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ["SOLVER_PREFIXES", "SolverTimeout", "kill_group", "remove_stale_tempdirs", "run_solver", "solver_tempdir"]
