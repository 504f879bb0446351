"""Ctrl-C and SIGTERM for long commands (``run``, ``serve``, ``verify``): one line, no traceback.

While :func:`handling` is active, the first SIGINT or SIGTERM:

1. runs the registered *stop* callbacks (stop submitting, cancel futures);
2. kills every descendant process of this one with SIGKILL: Dask workers of a
   local cluster, the cells' runner children (each the leader of its own process
   group, which is killed as a group with its solvers) and a temporary Prefect
   server, collected before any is killed so none escapes by being reparented;
3. removes the solver folders those processes owned;
4. runs the *record* callbacks (mark the run ``interrupted`` in ``_runs``);
5. prints one line on stderr and exits with ``128 + signal`` (130 for SIGINT,
   143 for SIGTERM) through ``os._exit``: no ``finally`` blocks or atexit hooks
   that could wait for a dead server.

A second signal exits at once. A watchdog thread exits after
:data:`GRACE_SECONDS` whatever the callbacks are doing. Code that must not be
cut in half (writing a catalog part file and counting it) runs inside
:func:`deferred`: a signal arriving there is acted on when the block ends.

Example
-------
>>> with handling(message=lambda signum: "interrupted: nothing to save"):
...     pass   # a long computation; Ctrl-C here prints the line and exits 130
>>> exit_code(signal.SIGTERM)
143
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

#: seconds between the first signal and the exit, whatever the callbacks do
GRACE_SECONDS = 4.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_stop: list[Callable[[int], None]] = []
_record: list[Callable[[int], None]] = []
_message: list[Callable[[int], str | None]] = []
_state = {"fired": 0, "deferred": 0, "pending": 0, "active": 0}
_previous: dict[int, object] = {}


def exit_code(signum: int) -> int:
    """The shell's exit status for a process ended by ``signum``: ``128 + signum``."""
    return 128 + int(signum)


def descendants() -> list:
    """Every living descendant process of this one (``psutil.Process`` objects)."""
    import psutil

    try:
        return psutil.Process().children(recursive=True)
    except Exception:
        return []


def _is_resource_tracker(p) -> bool:
    try:
        return "multiprocessing.resource_tracker" in " ".join(p.cmdline())
    except Exception:
        return False


def kill_descendants(spare_resource_tracker: bool = False, wait: float = 0.5) -> list[int]:
    """SIGKILL every descendant and its process group if it leads one; returns their pids.

    The tree is read first and killed afterwards (twice, for processes a dying
    nanny may have started meanwhile), so children reparented by a parent's
    death are still found. ``spare_resource_tracker`` leaves multiprocessing's
    resource tracker for last: killed early, it is relaunched by this process
    and prints tracebacks about semaphores it never knew.
    """
    import psutil

    killed: list[int] = []
    me = os.getpgid(0)
    procs: list = []
    for _ in range(2):
        procs = [p for p in descendants() if not (spare_resource_tracker and _is_resource_tracker(p))]
        if not procs:
            break
        for p in procs:
            try:
                if os.getpgid(p.pid) == p.pid and p.pid != me:
                    os.killpg(p.pid, signal.SIGKILL)  # a runner child and the solvers in its group
            except (ProcessLookupError, PermissionError, OSError):
                pass
            try:
                p.kill()
            except Exception:
                pass
            killed.append(p.pid)
        if wait > 0:
            psutil.wait_procs(procs, timeout=wait)
    return killed


def _exit_now(signum: int) -> None:
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(exit_code(signum))


def _run_all(callbacks, signum: int) -> None:
    for cb in list(reversed(callbacks)):
        try:
            cb(signum)
        except BaseException:
            pass


def shutdown(signum: int) -> None:
    """Stop, kill the process tree, record, print one line and exit ``128 + signum``."""
    for s in SIGNALS:  # a second signal exits at once
        try:
            signal.signal(s, lambda n, f: _exit_now(_state["fired"] or n))
        except (ValueError, OSError):
            pass
    logging.disable(logging.CRITICAL)  # clients of dead servers must not print what they think of it
    timer = threading.Timer(GRACE_SECONDS, _exit_now, args=(signum,))
    timer.daemon = True
    timer.start()
    _run_all(_stop, signum)
    pids = kill_descendants(spare_resource_tracker=True)
    try:
        from neurovar.pipeline.processes import remove_stale_tempdirs

        remove_stale_tempdirs(owners=pids)
    except Exception:
        pass
    _run_all(_record, signum)
    line = None
    for m in reversed(_message):
        try:
            line = m(signum)
        except Exception:
            line = None
        if line:
            break
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        sys.stderr.write((line or f"interrupted ({signal.Signals(signum).name})") + "\n")
        sys.stderr.flush()
    except Exception:
        pass
    try:  # from here on nothing of this process reaches the user: a relaunched tracker would only complain
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    except OSError:
        pass
    kill_descendants(wait=0)  # the resource tracker, last
    _exit_now(signum)


def _handler(signum, frame) -> None:
    if _state["fired"]:
        _exit_now(_state["fired"])
    _state["fired"] = signum
    if _state["deferred"]:
        _state["pending"] = signum
        return
    shutdown(signum)


def install() -> bool:
    """(Re)install the handlers; only possible in the main thread. Returns whether they are installed.

    Call it again after a library installed its own (Prefect's flow engine
    replaces SIGTERM's handler while a flow runs).
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    for s in SIGNALS:
        prev = signal.signal(s, _handler)
        if prev is not _handler:
            _previous.setdefault(s, prev)
    return True


def _restore() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for s, prev in list(_previous.items()):
        try:
            signal.signal(s, prev)
        except (TypeError, ValueError):
            pass
    _previous.clear()


@contextmanager
def handling(stop: Callable[[int], None] | None = None, record: Callable[[int], None] | None = None,
             message: Callable[[int], str | None] | None = None) -> Iterator[bool]:
    """Handle SIGINT/SIGTERM as described above while the block runs; nests.

    ``stop``, ``record`` and ``message`` are called with the signal number;
    ``message`` returns the one line to print. Yields whether the handlers could
    be installed (only in the main thread).
    """
    _stop.append(stop) if stop else None
    _record.append(record) if record else None
    _message.append(message) if message else None
    _state["active"] += 1
    ok = install()
    try:
        yield ok
    finally:
        _state["active"] -= 1
        for lst, cb in ((_stop, stop), (_record, record), (_message, message)):
            if cb is not None and cb in lst:
                lst.remove(cb)
        if _state["active"] == 0:
            _restore()


@contextmanager
def deferred() -> Iterator[None]:
    """A block a signal must not cut in half; a signal arriving inside is acted on at its end."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1
        if _state["deferred"] == 0 and _state["pending"]:
            signum, _state["pending"] = _state["pending"], 0
            shutdown(signum)


__all__ = ["GRACE_SECONDS", "deferred", "descendants", "exit_code", "handling", "install",
           "kill_descendants", "shutdown"]
