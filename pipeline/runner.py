"""Run cells with per-cell time limits, in a child process that can be killed.

Neither Dask nor Python threads can stop a running computation, so a cell with
``timeout_s`` runs in a long-lived child interpreter (``python -m
pipeline.runner``) fed over a pipe: a cell past its limit kills the child, is
recorded as ``status='timeout'``, and a fresh child takes the next cell. Cells
without a limit run in this process. The child is started with
``subprocess`` (not ``multiprocessing``), so it also works inside daemonic Dask
worker processes.

Process trees: the child leads its own session and process group, and the
solvers it starts stay in that group, so a timeout kills the whole group
(``os.killpg``) and no solver outlives its cell. Being in its own session, the
child does not receive a terminal's Ctrl-C (the run's signal handler kills it).
A child whose parent dies (a SIGKILLed Dask worker) notices within half a
second and kills its own group. Solver folders of killed children are removed
(:func:`neurovar.pipeline.processes.remove_stale_tempdirs`).

Example
-------
>>> from neurovar.pipeline.cells import make_cell
>>> recs = run_cells([make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]})])
>>> recs[0]["dimension"]
3
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from .cells import Cell, failed_record, run_cell
from .processes import kill_group, remove_stale_tempdirs

_HEADER = struct.Struct("!Q")
#: seconds a fresh child may take to import the computations
STARTUP_TIMEOUT = 300.0


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    """Read ``n`` bytes from ``fd`` before ``deadline``; ``None`` on timeout or EOF."""
    chunks, got = [], 0
    while got < n:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return None
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class CellRunner:
    """A killable child interpreter that runs cells one at a time.

    ``env`` holds extra environment variables of the child (for example the
    scheduler address of the worker's cluster); they are fixed when the child
    starts. A runner is used by one thread at a time (see :class:`RunnerPool`).
    """

    def __init__(self, env: dict[str, str] | None = None):
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = dict(env or {})

    def _start(self) -> None:
        env = {**os.environ, **self.env}
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "neurovar.pipeline.runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
            start_new_session=True,  # its own process group: killed as a group, deaf to the terminal's Ctrl-C
        )
        # the child says "ready" once its imports are done: start-up never counts against a cell's limit
        head = _read_exact(self.proc.stdout.fileno(), _HEADER.size, time.monotonic() + STARTUP_TIMEOUT)
        body = _read_exact(self.proc.stdout.fileno(), _HEADER.unpack(head)[0], time.monotonic() + 10) if head else None
        if body is None or pickle.loads(body) != "ready":
            self.kill()
            raise RuntimeError("the cell runner's child process did not start")

    def kill(self) -> None:
        """Kill the child's whole process group (the child and its solvers) and remove their folders."""
        if self.proc is not None:
            pid = self.proc.pid
            kill_group(pid)
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except Exception:
                    pass
            self.proc = None
            remove_stale_tempdirs(owners=[pid])

    close = kill

    def run(self, cell: Cell) -> dict:
        """The record of ``cell``, computed in the child; a ``timeout`` or ``error`` record if the
        child ran out of the cell's time limit, died, or answered with something that is not a record."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        t0 = time.monotonic()
        deadline = t0 + cell.timeout_s if cell.timeout_s else None
        try:
            _send(self.proc.stdin, cell)
        except (BrokenPipeError, OSError):
            self.kill()
            self._start()
            _send(self.proc.stdin, cell)
        fd = self.proc.stdout.fileno()
        head = _read_exact(fd, _HEADER.size, deadline)
        body = _read_exact(fd, _HEADER.unpack(head)[0], deadline) if head is not None else None
        if body is None:
            timed_out = deadline is not None and time.monotonic() >= deadline
            code = self.proc.poll()
            self.kill()
            elapsed = time.monotonic() - t0
            if timed_out:
                return failed_record(cell, "timeout", timeout_message(cell, elapsed), elapsed)
            return failed_record(cell, "error", f"cell process died (exit code {code})", elapsed)
        try:
            rec = pickle.loads(body)
        except Exception as exc:
            rec = exc
        if not (isinstance(rec, dict) and rec.get("cell_key") == cell.key):
            self.kill()  # out of step with its parent: never reuse it
            return failed_record(cell, "error", f"the cell process answered {_describe(rec)} instead of the "
                                 "cell's record", time.monotonic() - t0)
        return rec

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def timeout_message(cell: Cell, elapsed: float) -> str:
    """What ran out and the limit, for a cell killed at its ``timeout_s``.

    >>> from neurovar.pipeline.cells import make_cell
    >>> timeout_message(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}, timeout_s=10), 10.02)
    'the cell ran out of its time limit timeout_s=10.0 s (killed after 10.0 s)'
    """
    return f"the cell ran out of its time limit timeout_s={cell.timeout_s} s (killed after {elapsed:.1f} s)"


def _describe(obj) -> str:
    """A short description of an unexpected answer, for an error record.

    >>> _describe("ready"), _describe(ValueError("bad"))
    ("a str ('ready')", 'an exception (ValueError: bad)')
    """
    if isinstance(obj, BaseException):
        return f"an exception ({type(obj).__name__}: {obj})"
    text = repr(obj)
    return f"a {type(obj).__name__} ({text[:60] + '...' if len(text) > 60 else text})"


def run_cells(cells: Iterable[Cell], on_record: Callable[[dict], None] | None = None,
              runner: CellRunner | None = None) -> list[dict]:
    """Run cells in order; cells with ``timeout_s`` go through a killable child process.

    Whatever goes wrong with one cell (its child fails to start, an exception
    outside the computation) becomes that cell's ``error`` record; the other
    cells of the batch still run.
    """
    out = []
    own = runner is None
    runner = runner or CellRunner()
    try:
        for cell in cells:
            t0 = time.monotonic()
            try:
                rec = runner.run(cell) if cell.timeout_s else run_cell(cell)
            except Exception as exc:
                runner.kill()
                rec = failed_record(cell, "error", f"{type(exc).__name__}: {exc}", time.monotonic() - t0)
            out.append(rec)
            if on_record is not None:
                on_record(rec)
    finally:
        if own:
            runner.kill()
    return out


class RunnerPool:
    """The cell runners of one process: one child per batch that is running, never shared.

    A Dask worker runs one batch per thread (``--nthreads``), so several batches
    of one worker process run at once. Each takes a runner of its own from the
    pool for the whole batch and gives it back after, so a child never serves
    two threads (one pipe, one cell at a time) and the number of children never
    exceeds the number of batches running at once, which is at most the
    worker's threads. A runner per batch rather than one lock for the worker:
    with a lock, a worker of N threads would compute one cell at a time. A
    runner per thread (thread-local) would leak children whenever the worker
    replaces a thread of its pool.

    A runner's environment is fixed when its child starts; a runner taken for
    another environment (a new scheduler address) is restarted by the thread
    that took it, so no runner in use is ever touched.

    >>> pool = RunnerPool()
    >>> with pool.runner() as a:
    ...     with pool.runner() as b:
    ...         (a is b, pool.size())
    (False, 2)
    >>> with pool.runner() as c:
    ...     c in (a, b)
    True
    >>> pool.close(); pool.size()
    0
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[CellRunner] = []
        self._busy: set[CellRunner] = set()

    def size(self) -> int:
        """Runners of this pool, idle or in use."""
        with self._lock:
            return len(self._idle) + len(self._busy)

    def children(self) -> int:
        """Runners whose child process is alive."""
        with self._lock:
            runners = [*self._idle, *self._busy]
        return sum(1 for r in runners if r.proc is not None and r.proc.poll() is None)

    @contextmanager
    def runner(self, env: dict[str, str] | None = None) -> Iterator[CellRunner]:
        """A runner for this thread alone, with ``env`` in its child's environment."""
        env = dict(env or {})
        with self._lock:
            same = [r for r in self._idle if r.env == env]
            r = (same or self._idle or [None])[-1]
            if r is None:
                r = CellRunner(env)
            else:
                self._idle.remove(r)
            self._busy.add(r)
        try:
            if r.env != env:  # idle until this thread took it: nobody else uses it
                r.kill()
                r.env = env
            yield r
        finally:
            with self._lock:
                self._busy.discard(r)
                self._idle.append(r)

    def close(self) -> None:
        """Kill every child of the pool (at the worker's exit)."""
        with self._lock:
            runners = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for r in runners:
            r.kill()


_POOL: RunnerPool | None = None
_POOL_LOCK = threading.Lock()


def worker_pool() -> RunnerPool:
    """This process's :class:`RunnerPool`, created once (with its exit handler)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            import atexit

            remove_stale_tempdirs()  # folders of solvers whose runner was SIGKILLed in an earlier run
            _POOL = RunnerPool()
            atexit.register(_POOL.close)
        return _POOL


def run_batch(cells: list[Cell]) -> list[dict]:
    """Run a batch of cells on a worker (a Dask task): cells with a time limit use a killable child
    process of this batch's own, taken from the worker's :class:`RunnerPool` and reused by later batches."""
    with worker_pool().runner(_cluster_env()) as runner:
        return run_cells(cells, runner=runner)


def _cluster_env() -> dict[str, str]:
    """The child's view of this worker's cluster: the scheduler address where a cell's large numerical
    solve sends its loop tasks (:mod:`neurovar.pipeline.compute.cluster`); empty outside a worker."""
    try:
        from distributed import get_worker

        addr = get_worker().scheduler.address
    except (ImportError, ValueError, AttributeError):
        return {}
    from .compute.cluster import SCHEDULER_ENV

    return {SCHEDULER_ENV: addr} if addr else {}


def _watch_parent(interval: float = 0.5) -> None:  # pragma: no cover - runs in the child
    """Kill this process group (the child and its solvers) as soon as the parent is gone."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="neurovar-parent-watch", daemon=True).start()


def _child_main() -> None:  # pragma: no cover - runs in the child
    _watch_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; a Ctrl-C never prints a traceback here
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the pipe
    from .compute import computations

    computations()  # import every computation before saying ready
    _send(stdout, "ready")
    while True:
        head = stdin.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        (n,) = _HEADER.unpack(head)
        cell = pickle.loads(stdin.read(n))
        try:
            _send(stdout, run_cell(cell))
        except (BrokenPipeError, OSError):  # the parent went away: nobody to answer
            return


if __name__ == "__main__":  # pragma: no cover
    _child_main()
