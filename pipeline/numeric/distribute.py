"""One large numerical solve spread over the Dask cluster it runs in.

A round of monodromy tracks every orbit representative around several loops
(:func:`~pipeline.numeric.monodromy.monodromy_solve`); its paths are
independent. :class:`LoopExecutor` replaces the round's
:func:`~pipeline.numeric.tracker.track_loops` call: it cuts the paths into
chunks (a split that depends on the number of paths alone, never on the
cluster), submits each chunk as a Dask task, and merges the endpoints back in
path order. The solution set, the orbits, the stall rule, certification and the
trace test stay with the cell that started the solve (the *coordinator*): one
central solution set, merged in a fixed order. Each path is tracked by the same
code with its own step sizes whichever process runs it, so the answer (counts,
certificates) is the same on 1 and on N workers and with or without a cluster.

**Where the tasks go.** To the Dask client the caller passes in (a client, or
a function returning one or None, called at the first spread round); with no
client the paths are tracked in this process. This module never looks for a
cluster itself: which client a cell uses is decided by the compute layer
(:mod:`pipeline.compute.cluster`). The coordinator never blocks its worker's
slot waiting: it submits the chunks with a high priority, then tracks the last
chunks that no worker has started itself (and cancels their tasks) while the
other workers take the first ones. On a 1-worker cluster it tracks everything
itself; a lost worker's chunk is tracked by the coordinator. No deadlock, no
thread oversubscription.

**Large.** With ``distribute="auto"`` a round is spread when its *work
estimate* ``paths x unknowns^2`` (a Newton step costs a linear solve per path,
and the number of steps barely grows with the size) reaches
:data:`LARGE_WORK`; below that a Dask task's overhead (a few milliseconds per
chunk, plus sending the system once) outweighs the gain. ``always`` spreads
every round of at least two paths (tests, benchmarks), ``never`` none.

**Deadlines** travel with the chunks (:mod:`pipeline.numeric.budget`): a chunk
past the solve's deadline stops its paths, which then count as failed.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.families import ed_lagrange_family
>>> from neurovar.pipeline.numeric.monodromy import monodromy_solve
>>> fam = ed_lagrange_family("x^2 + 4*y^2 - 1", ["x", "y"])
>>> E = LoopExecutor("always")          # no cluster here: chunks run in this process
>>> R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1, loop_tracker=E)
>>> R.count, E.stats["spread_rounds"] > 0, E.stats["remote_chunks"]
(4, True, 0)
"""

from __future__ import annotations

import uuid

import numpy as np

from .budget import blas_threads, current, deadline
from .tracker import track, track_loops

MODES = ("auto", "always", "never")
#: ``auto`` spreads a round whose ``paths x unknowns^2`` reaches this (measured: below it a round
#: takes well under a second on one core, less than the tasks' round trips save).
LARGE_WORK = 30_000
#: Paths per chunk (at least; at most :data:`MAX_CHUNKS` chunks per round).
MIN_CHUNK = 32
MAX_CHUNKS = 8


def work_estimate(system, paths: int) -> int:
    """The size estimate of a round: ``paths x unknowns^2``.

    >>> from neurovar.pipeline.numeric.system import System
    >>> work_estimate(System.from_text("x^2 - a; y^2 - b", ["x", "y"], ["a", "b"]), 100)
    400
    """
    return int(paths) * int(system.n_variables) ** 2


def chunks(paths: int) -> list[np.ndarray]:
    """The split of a round's paths into chunks: a function of the number of paths alone.

    >>> [len(c) for c in chunks(10)], [len(c) for c in chunks(100)], len(chunks(1000))
    ([10], [34, 33, 33], 8)
    """
    n = max(1, min(MAX_CHUNKS, paths // MIN_CHUNK, paths))
    return np.array_split(np.arange(paths), n)


def _run_chunk(fn, system, args, options, at, topic=None):
    """A task: ``fn(system, *args, options)`` on one chunk, one BLAS thread, under the solve's deadline.

    It first tells the scheduler that it started (an event on ``topic``), so
    that the coordinator does not track the same chunk itself.
    """
    from threadpoolctl import threadpool_limits

    if topic is not None:
        try:
            from distributed import get_worker

            w = get_worker()
            w.log_event(topic, {"key": w.get_current_task(), "worker": w.address})
        except (ImportError, ValueError):
            pass

    with threadpool_limits(limits=blas_threads(), user_api="blas"), deadline(at=at):
        return fn(system, *args, options)


def _track_rows(system, starts, p0, p1, gamma, options):
    """:func:`~pipeline.numeric.tracker.track` with one parameter pair and gamma per row, as ``(solutions, status)``."""
    R = track(system, starts, p0, p1, gamma=gamma, options=options)
    return R.solutions, R.status


class LoopExecutor:
    """A drop-in for :func:`~pipeline.numeric.tracker.track_loops` that spreads large rounds over the cluster.

    Parameters
    ----------
    mode : str
        ``auto`` (spread rounds whose :func:`work_estimate` reaches ``large_work``),
        ``always`` or ``never``.
    client : distributed.Client or callable, optional
        Where spread rounds go: a client, or a function returning a client or
        None (called once, at the first spread round). None: this process.
    large_work : int

    Attributes
    ----------
    stats : dict
        ``rounds``, ``spread_rounds``, ``chunks``, ``remote_chunks`` (tracked by
        other tasks) and ``local_chunks`` (by the coordinator).
    """

    def __init__(self, mode: str = "auto", client=None, large_work: int = LARGE_WORK):
        if mode not in MODES:
            raise ValueError(f"distribute must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode, self.client, self.large_work = mode, client, large_work
        self.stats = dict(rounds=0, spread_rounds=0, chunks=0, remote_chunks=0, local_chunks=0)
        self._shipped: dict = {}

    def spreads(self, system, paths: int) -> bool:
        """Whether a round of ``paths`` paths is spread (deterministic: size only)."""
        if self.mode == "never" or paths < 2:
            return False
        return self.mode == "always" or work_estimate(system, paths) >= self.large_work

    def _client(self):
        """The client passed in (a factory is called once, at the first spread round)."""
        if callable(self.client) and not hasattr(self.client, "submit"):
            self.client = self.client()
        return self.client

    def _system_ref(self, client, system):
        key = (id(client), id(system))
        if key not in self._shipped:
            self._shipped[key] = (system, client.scatter(system, hash=False))
        return self._shipped[key][1]

    def __call__(self, system, X, p0, P1, G1, G2, options=None):
        """``track_loops(system, X, p0, P1, G1, G2, options)``, spread when the round is large."""
        X = np.atleast_2d(np.asarray(X, dtype=np.complex128))
        B = X.shape[0]
        P1 = np.asarray(P1, dtype=np.complex128).reshape(B, -1)
        G1 = np.asarray(G1, dtype=np.complex128).reshape(B)
        G2 = np.asarray(G2, dtype=np.complex128).reshape(B)
        p0 = np.asarray(p0, dtype=np.complex128).ravel()
        return self.map(track_loops, system, B, lambda i: (X[i], p0, P1[i], G1[i], G2[i]), options)

    def track(self, system, starts, p0, p1, gamma, options=None):
        """``track(system, starts, p0[i], p1[i], gamma=gamma[i])`` per row, as ``(solutions, status)``."""
        X = np.atleast_2d(np.asarray(starts, dtype=np.complex128))
        B = X.shape[0]
        P0 = np.atleast_2d(np.asarray(p0, dtype=np.complex128))
        P1 = np.atleast_2d(np.asarray(p1, dtype=np.complex128))
        P0 = np.broadcast_to(P0, (B, P0.shape[1])).copy()
        P1 = np.broadcast_to(P1, (B, P1.shape[1])).copy()
        G = np.broadcast_to(np.asarray(gamma, dtype=np.complex128), (B,)).copy()
        return self.map(_track_rows, system, B, lambda i: (X[i], P0[i], P1[i], G[i]), options)

    def map(self, fn, system, paths: int, rows, options):
        """``fn(system, *rows(idx), options)`` over chunks ``idx`` of ``range(paths)``, results stacked in path order.

        ``fn`` returns a tuple of arrays with one row per path.
        """
        self.stats["rounds"] += 1
        if not self.spreads(system, paths):
            return fn(system, *rows(np.arange(paths)), options)
        self.stats["spread_rounds"] += 1
        parts = chunks(paths)
        self.stats["chunks"] += len(parts)
        client = self._client()
        results: list = [None] * len(parts)
        if client is not None:
            try:
                self._spread(client, fn, system, rows, options, parts, results)
            except Exception:  # the cluster went away: whatever is missing is tracked here
                pass
        for j, idx in enumerate(parts):
            if results[j] is None:
                results[j] = fn(system, *rows(idx), options)
                self.stats["local_chunks"] += 1
        return tuple(np.concatenate([r[k] for r in results]) for k in range(len(results[0])))

    def _spread(self, client, fn, system, rows, options, parts, results):
        from distributed import wait

        ref = self._system_ref(client, system)
        at = current()
        tag = uuid.uuid4().hex[:12]
        topic = f"neurovar-loops-{tag}"
        keys = [f"{topic}-{j}" for j in range(len(parts))]
        futs = [client.submit(_run_chunk, fn, ref, rows(idx), options, at, topic, key=k, priority=100, pure=False)
                for k, idx in zip(keys, parts)]
        try:
            while any(r is None for r in results):
                for j, f in enumerate(futs):
                    if results[j] is None and f.status == "finished":
                        results[j] = f.result()
                        self.stats["remote_chunks"] += 1
                todo = [j for j, r in enumerate(results) if r is None]
                if not todo:
                    break
                started = {msg["key"] for _, msg in client.get_events(topic)}
                # the last chunk no worker has started (or whose task failed) is tracked here
                free = [j for j in todo if keys[j] not in started or futs[j].status in ("error", "cancelled")]
                if free:
                    j = free[-1]
                    futs[j].cancel()
                    results[j] = fn(system, *rows(parts[j]), options)
                    self.stats["local_chunks"] += 1
                else:
                    try:
                        wait([futs[j] for j in todo], timeout=0.25, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        pass
        finally:
            for j, f in enumerate(futs):
                if results[j] is None or f.status != "finished":
                    f.cancel()
            for f in futs:
                f.release()


__all__ = ["LARGE_WORK", "LoopExecutor", "MODES", "chunks", "work_estimate"]
