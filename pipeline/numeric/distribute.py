"""One large numerical solve spread over the Dask cluster it runs in.

A round of monodromy tracks every orbit representative around several loops
(:func:`~pipeline.numeric.monodromy.monodromy_solve`); its paths are
independent, and so are the trace test's paths and its extra witnesses' loops.
:class:`LoopExecutor` replaces the round's
:func:`~pipeline.numeric.tracker.track_loops` call (and the trace test's
:func:`~pipeline.numeric.tracker.track` calls): it cuts the paths into
*batches*, submits each batch as a Dask task, and merges the endpoints back in
path order. The solution set, the orbits, the stall rule, certification and the
trace test stay with the cell that started the solve (the *coordinator*): one
central solution set, merged in a fixed order. Each path is tracked by the same
code with its own step sizes whichever process runs it, so the answer (counts,
certificates) is the same on 1 and on N workers and with or without a cluster
(endpoints agree to rounding: numpy's reductions may round differently in
batches of other sizes, far below the tolerance that identifies solutions).

**Batches big enough to pay.** The vectorised tracker costs a fixed part per
step of a batch (numpy calls) plus a part per path; a batch of too few paths
pays the fixed part again and a Dask task costs a few milliseconds more. The
executor measures the seconds per path of every kind of round (per system and
tracking function, from the batches it tracks and from the tasks' own timings)
and cuts a round into ``ceil(estimate / task_seconds)`` batches (target
:data:`TASK_SECONDS` of tracking per task), at least one per process that can
take one (the other workers' threads, and the coordinator), never batches of
fewer than :data:`MIN_CHUNK` paths nor tasks estimated under
:data:`MIN_TASK_SECONDS`. With nobody to help (a 1-worker cluster whose only
thread runs the solve, or no cluster) a round is one batch in this process, at
the in-process cost.

**Where the tasks go.** To the Dask client the caller passes in (a client, or
a function returning one or None, called at the first spread round); with no
client the paths are tracked in this process. This module never looks for a
cluster itself: which client a cell uses is decided by the compute layer
(:mod:`pipeline.compute.cluster`). The system is scattered to the workers once
per solve (tasks carry only their rows: start points, loop parameters). The
coordinator never blocks its worker's slot waiting: it submits the batches with
a high priority to the *other* workers (loosely: the scheduler may still move
them), then takes its share of the last batches that no worker has started
(cancelling their tasks, and tracking them together as one batch) while the
other workers take the first ones, and gathers the rest as they complete. On a
1-worker cluster it tracks everything itself; a lost worker's batch is tracked
by the coordinator. No deadlock, no thread oversubscription.

**The serial fraction.** ``stats`` records the wall seconds spent in rounds
that are spread (``spread_seconds``) and ``round_log`` each such round's
``(paths, seconds, batches)``: on one worker, ``1 - spread_seconds / total``
is the solve's serial fraction (Amdahl), and the log gives how many batches
each round could be cut into on more workers (``bench/bench_numerical_dist.py``
prints the model).

**Large.** With ``distribute="auto"`` a round is spread when its estimated
time reaches :data:`SPREAD_SECONDS` (measured seconds per path, or before any
measurement the *work estimate* ``paths x unknowns^2`` against
:data:`LARGE_WORK`). ``always`` spreads every round of at least two paths
(tests, benchmarks), ``never`` none.

**Deadlines** travel with the batches (:mod:`pipeline.numeric.budget`): a batch
past the solve's deadline stops its paths, which then count as failed.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.families import ed_lagrange_family
>>> from neurovar.pipeline.numeric.monodromy import monodromy_solve
>>> fam = ed_lagrange_family("x^2 + 4*y^2 - 1", ["x", "y"])
>>> E = LoopExecutor("always")          # no cluster here: one batch per round, in this process
>>> R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1, loop_tracker=E)
>>> R.count, E.stats["spread_rounds"] > 0, E.stats["remote_chunks"]
(4, True, 0)
"""

from __future__ import annotations

import math
import time
import uuid

import numpy as np

from .budget import blas_threads, current, deadline
from .tracker import track, track_loops

MODES = ("auto", "always", "never")
#: Before any measurement, ``auto`` spreads a round whose ``paths x unknowns^2`` reaches this.
LARGE_WORK = 30_000
#: ``auto`` spreads a round whose measured cost (seconds per path x paths) reaches this.
SPREAD_SECONDS = 0.25
#: Target seconds of tracking per task: long against a task's scheduling and transfer (a few ms on
#: a local cluster, tens across machines), short enough for the batches to balance over the workers.
TASK_SECONDS = 1.0
#: No task is cut shorter than this (estimated), nor with fewer than :data:`MIN_CHUNK` paths.
MIN_TASK_SECONDS = 0.05
MIN_CHUNK = 8
MAX_CHUNKS = 256


def work_estimate(system, paths: int) -> int:
    """The size estimate of a round before any measurement: ``paths x unknowns^2``.

    >>> from neurovar.pipeline.numeric.system import System
    >>> work_estimate(System.from_text("x^2 - a; y^2 - b", ["x", "y"], ["a", "b"]), 100)
    400
    """
    return int(paths) * int(system.n_variables) ** 2


def batches(paths: int, seconds_per_path: float | None, helpers: int, task_seconds: float = TASK_SECONDS) -> int:
    """How many batches a round of ``paths`` paths is cut into, with ``helpers`` other processes free.

    One per process that can take one at least (the coordinator and its
    ``helpers``), more when the round's estimated time exceeds ``task_seconds``
    per batch; none under :data:`MIN_CHUNK` paths or :data:`MIN_TASK_SECONDS`.

    >>> batches(1000, None, 0), batches(1000, None, 1), batches(1000, 0.01, 1), batches(1000, 0.01, 3)
    (1, 2, 10, 10)
    >>> batches(1000, 1e-5, 1), batches(20, 0.1, 7), batches(20, 0.1, 0)
    (1, 2, 1)
    """
    if helpers <= 0 or paths < 2 * MIN_CHUNK:
        return 1
    most = min(MAX_CHUNKS, paths // MIN_CHUNK)
    if seconds_per_path is None:
        return max(1, min(most, helpers + 1))
    est = seconds_per_path * paths
    n = max(helpers + 1, math.ceil(est / task_seconds))
    return max(1, min(n, most, int(est / MIN_TASK_SECONDS)))


def chunks(paths: int, n: int = 1) -> list[np.ndarray]:
    """The split of a round's ``paths`` paths into ``n`` batches of consecutive paths.

    >>> [len(c) for c in chunks(10)], [len(c) for c in chunks(100, 3)]
    ([10], [34, 33, 33])
    """
    return np.array_split(np.arange(paths), max(1, min(n, paths)))


def _run_chunk(fn, system, args, options, at, topic=None):
    """A task: ``fn(system, *args, options)`` on one batch, one BLAS thread, under the solve's deadline.

    It first tells the scheduler that it started (an event on ``topic``), so
    that the coordinator does not track the same batch itself. Returns the
    result and the seconds it took (the coordinator's measure of the batch size).
    """
    from threadpoolctl import threadpool_limits

    if topic is not None:
        try:
            from distributed import get_worker

            w = get_worker()
            w.log_event(topic, {"key": w.get_current_task(), "worker": w.address})
        except (ImportError, ValueError):
            pass
    t0 = time.perf_counter()
    with threadpool_limits(limits=blas_threads(), user_api="blas"), deadline(at=at), \
            np.errstate(over="ignore", invalid="ignore"):  # a diverging path overflows: its status says so
        out = fn(system, *args, options)
    return out, time.perf_counter() - t0


def _track_rows(system, starts, p0, p1, gamma, options):
    """:func:`~pipeline.numeric.tracker.track` with one parameter pair and gamma per row, as ``(solutions, status)``."""
    R = track(system, starts, p0, p1, gamma=gamma, options=options)
    return R.solutions, R.status


def _own_address():
    """This process's worker address when it runs inside a Dask worker, else None."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


class LoopExecutor:
    """A drop-in for :func:`~pipeline.numeric.tracker.track_loops` that spreads large rounds over the cluster.

    Parameters
    ----------
    mode : str
        ``auto`` (spread rounds estimated at :data:`SPREAD_SECONDS` or more),
        ``always`` or ``never``.
    client : distributed.Client or callable, optional
        Where spread rounds go: a client, or a function returning a client or
        None (called once, at the first spread round). None: this process.
    large_work : int
        The work estimate that makes a round large before any measurement.
    task_seconds : float
        Target seconds of tracking per task (see :func:`batches`).

    Attributes
    ----------
    stats : dict
        ``rounds``, ``spread_rounds``, ``chunks`` (batches of spread rounds),
        ``remote_chunks`` (tracked by other tasks), ``local_chunks`` (by the
        coordinator), ``seconds`` (wall seconds in all rounds),
        ``spread_seconds`` (in spread rounds), ``remote_seconds`` (tracking
        time the tasks reported), ``wait_seconds`` (the coordinator waiting for
        them), ``helpers`` (other processes that could take batches, at the last
        spread round).
    round_log : list of tuple
        ``(paths, seconds, batches)`` of every spread round.
    """

    def __init__(self, mode: str = "auto", client=None, large_work: int = LARGE_WORK,
                 task_seconds: float = TASK_SECONDS):
        if mode not in MODES:
            raise ValueError(f"distribute must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode, self.client, self.large_work, self.task_seconds = mode, client, large_work, task_seconds
        self.stats = dict(rounds=0, spread_rounds=0, chunks=0, remote_chunks=0, local_chunks=0, seconds=0.0,
                          spread_seconds=0.0, remote_seconds=0.0, wait_seconds=0.0, helpers=0)
        self.round_log: list[tuple[int, float, int]] = []
        self._shipped: dict = {}
        self._rate: dict = {}
        self._helpers_at = (-1e9, 0)

    def spreads(self, system, paths: int, key=None) -> bool:
        """Whether a round of ``paths`` paths is spread (its size and the measured cost only, not the cluster)."""
        if self.mode == "never" or paths < 2:
            return False
        if self.mode == "always":
            return True
        rate = self._rate.get(key)
        if rate is not None:
            return rate * paths >= SPREAD_SECONDS
        return work_estimate(system, paths) >= self.large_work

    def _client(self):
        """The client passed in (a factory is called once, at the first spread round)."""
        if callable(self.client) and not hasattr(self.client, "submit"):
            self.client = self.client()
        return self.client

    def _helpers(self, client) -> tuple[int, list]:
        """``(threads, addresses)`` of the workers other than this process's own (refreshed every 5 s)."""
        if client is None:
            return 0, []
        now = time.monotonic()
        if now - self._helpers_at[0] > 5.0:
            try:
                own = _own_address()
                others = {a: n for a, n in client.nthreads().items() if a != own}
                self._helpers_at = (now, (sum(others.values()), sorted(others)))
            except Exception:  # the cluster went away: this process alone
                self._helpers_at = (now, (0, []))
        return self._helpers_at[1]

    def _measured(self, key, paths: int, seconds: float) -> None:
        """Fold a batch's seconds per path into the estimate of its kind of round."""
        if paths <= 0 or seconds <= 0:
            return
        r = seconds / paths
        old = self._rate.get(key)
        self._rate[key] = r if old is None else 0.5 * (old + r)

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
        """``fn(system, *rows(idx), options)`` over batches ``idx`` of ``range(paths)``, results stacked in path order.

        ``fn`` returns a tuple of arrays with one row per path.
        """
        t0 = time.perf_counter()
        self.stats["rounds"] += 1
        key = (getattr(fn, "__name__", repr(fn)), id(system))
        spread = self.spreads(system, paths, key)
        n = 1
        try:
            if not spread:
                return self._local(fn, system, rows, np.arange(paths), options, key, count=False)
            self.stats["spread_rounds"] += 1
            client = self._client()
            helpers, where = self._helpers(client)
            self.stats["helpers"] = helpers
            n = batches(paths, self._rate.get(key), helpers, self.task_seconds)
            parts = chunks(paths, n)
            self.stats["chunks"] += len(parts)
            results: list = [None] * len(parts)
            if len(parts) > 1:
                try:
                    self._spread(client, fn, system, rows, options, parts, results, key, where, helpers)
                except Exception:  # the cluster went away: whatever is missing is tracked here
                    pass
            for j, idx in enumerate(parts):
                if results[j] is None:
                    results[j] = self._local(fn, system, rows, idx, options, key)
            return tuple(np.concatenate([r[k] for r in results]) for k in range(len(results[0])))
        finally:
            dt = time.perf_counter() - t0
            self.stats["seconds"] += dt
            if spread:
                self.stats["spread_seconds"] += dt
                self.round_log.append((int(paths), float(dt), int(n)))

    def _local(self, fn, system, rows, idx, options, key, count: bool = True):
        """One batch tracked in this process (its seconds per path measured)."""
        t0 = time.perf_counter()
        out = fn(system, *rows(idx), options)
        self._measured(key, len(idx), time.perf_counter() - t0)
        if count:
            self.stats["local_chunks"] += 1
        return out

    def _system_ref(self, client, system, where):
        key = (id(client), id(system))
        if key not in self._shipped:
            # to one of the other workers (they fetch it from there once; not broadcast: the scheduler's record
            # of a replication holds objects that break Client.get_events() of all topics in distributed 2026.x)
            self._shipped[key] = (system, client.scatter(system, hash=False, workers=where or None))
        return self._shipped[key][1]

    def _spread(self, client, fn, system, rows, options, parts, results, key, where, helpers):
        from distributed import wait

        ref = self._system_ref(client, system, where)
        at = current()
        tag = uuid.uuid4().hex[:12]
        topic = f"neurovar-loops-{tag}"
        keys = [f"{topic}-{j}" for j in range(len(parts))]
        futs = [client.submit(_run_chunk, fn, ref, rows(idx), options, at, topic, key=k, priority=100, pure=False,
                              workers=where or None, allow_other_workers=True)
                for k, idx in zip(keys, parts)]

        def collect():
            for j, f in enumerate(futs):
                if results[j] is None and f.status == "finished":
                    out, seconds = f.result()
                    results[j] = out
                    self._measured(key, len(parts[j]), seconds)
                    self.stats["remote_chunks"] += 1
                    self.stats["remote_seconds"] += seconds

        first = True
        try:
            while True:
                collect()
                todo = [j for j, r in enumerate(results) if r is None]
                if not todo:
                    break
                # (no round trip to the scheduler on the first pass: nothing can have started yet)
                started = {msg["key"] for _, msg in client.get_events(topic)} if not first else set()
                first = False
                # the last batches no worker has started (or whose task failed) are tracked here, as one batch:
                # this process's share of them rounded down (the rest is taken later if no worker starts it),
                # so that busy workers cost a few passes, not one per batch
                free = [j for j in todo if keys[j] not in started or futs[j].status in ("error", "cancelled")]
                if free:
                    take = free[-max(1, len(free) // (helpers + 1)):]
                    for j in take:
                        futs[j].cancel()
                    out = self._local(fn, system, rows, np.concatenate([parts[j] for j in take]), options, key)
                    self.stats["local_chunks"] += len(take) - 1
                    at0 = 0
                    for j in take:
                        results[j] = tuple(a[at0:at0 + len(parts[j])] for a in out)
                        at0 += len(parts[j])
                else:
                    t0 = time.perf_counter()
                    try:
                        wait([futs[j] for j in todo], timeout=0.25, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        pass
                    self.stats["wait_seconds"] += time.perf_counter() - t0
        finally:
            for j, f in enumerate(futs):
                if results[j] is None or f.status != "finished":
                    f.cancel()
            for f in futs:
                f.release()


def track_paths(system, X, p0, p1, seed: int, options=None, loop_tracker=None):
    """``track(system, X, p0, p1, gamma=None, seed=seed)`` as ``(solutions, status)``, spread by ``loop_tracker``
    when it can (a :class:`LoopExecutor`; the same gamma, drawn from ``seed`` as :func:`track` draws it).

    >>> from neurovar.pipeline.numeric.system import System
    >>> S = System.from_text("x^2 - a", ["x"], ["a"])
    >>> X, st = track_paths(S, np.array([[1.0], [-1.0]]), [1.0], [4.0], seed=3, loop_tracker=LoopExecutor("always"))
    >>> np.round(X.real.ravel(), 8).tolist(), st.tolist()
    ([2.0, -2.0], ['regular', 'regular'])
    """
    if loop_tracker is not None and hasattr(loop_tracker, "track"):
        gamma = np.exp(2j * np.pi * np.random.default_rng(seed).random())
        ends, status = loop_tracker.track(system, X, p0, p1, gamma, options)
        return ends, np.asarray(status).astype(str)
    R = track(system, X, p0, p1, gamma=None, seed=seed, options=options)
    return R.solutions, R.status


def as_executor(distribute, client=None) -> LoopExecutor:
    """``distribute`` if it is a :class:`LoopExecutor` (its stats then stay with the caller), else a new one.

    >>> E = LoopExecutor("never")
    >>> as_executor(E) is E, as_executor(None).mode, as_executor("always").mode
    (True, 'auto', 'always')
    """
    if isinstance(distribute, LoopExecutor):
        return distribute
    return LoopExecutor(distribute or "auto", client)


__all__ = ["LARGE_WORK", "LoopExecutor", "MIN_CHUNK", "MODES", "SPREAD_SECONDS", "TASK_SECONDS", "as_executor",
           "batches", "chunks", "track_paths", "work_estimate"]
