"""Run cells with per-cell time limits, in a child process that can be killed.

Neither Dask nor Python threads can stop a running computation, so a cell with
``timeout_s`` runs in a long-lived child interpreter (``python -m
pipeline.runner``) fed over a pipe: a cell past its limit kills the child, is
recorded as ``status='timeout'``, and a fresh child takes the next cell. Cells
without a limit run in this process. The child is started with
``subprocess`` (not ``multiprocessing``), so it also works inside daemonic Dask
worker processes.

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
import struct
import subprocess
import sys
import time
from typing import Callable, Iterable

from .cells import Cell, failed_record, run_cell

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
    """A killable child interpreter that runs cells one at a time."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "neurovar.pipeline.runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        # the child says "ready" once its imports are done: start-up never counts against a cell's limit
        head = _read_exact(self.proc.stdout.fileno(), _HEADER.size, time.monotonic() + STARTUP_TIMEOUT)
        body = _read_exact(self.proc.stdout.fileno(), _HEADER.unpack(head)[0], time.monotonic() + 10) if head else None
        if body is None or pickle.loads(body) != "ready":
            self.kill()
            raise RuntimeError("the cell runner's child process did not start")

    def kill(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:
                pass
            self.proc = None

    close = kill

    def run(self, cell: Cell) -> dict:
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
                return failed_record(cell, "timeout", f"exceeded timeout_s={cell.timeout_s}", elapsed)
            return failed_record(cell, "error", f"cell process died (exit code {code})", elapsed)
        return pickle.loads(body)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def run_cells(cells: Iterable[Cell], on_record: Callable[[dict], None] | None = None,
              runner: CellRunner | None = None) -> list[dict]:
    """Run cells in order; cells with ``timeout_s`` go through a killable child process."""
    out = []
    own = runner is None
    runner = runner or CellRunner()
    try:
        for cell in cells:
            rec = runner.run(cell) if cell.timeout_s else run_cell(cell)
            out.append(rec)
            if on_record is not None:
                on_record(rec)
    finally:
        if own:
            runner.kill()
    return out


_WORKER_RUNNER: CellRunner | None = None


def run_batch(cells: list[Cell]) -> list[dict]:
    """Run a batch of cells on a worker (a Dask task); cells with a time limit use the
    worker's own killable child process, started once and reused."""
    global _WORKER_RUNNER
    if _WORKER_RUNNER is None:
        import atexit

        _WORKER_RUNNER = CellRunner()
        atexit.register(_WORKER_RUNNER.kill)
    return run_cells(cells, runner=_WORKER_RUNNER)


def _child_main() -> None:  # pragma: no cover - runs in the child
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
        _send(stdout, run_cell(cell))


if __name__ == "__main__":  # pragma: no cover
    _child_main()
