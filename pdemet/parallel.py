"""Failures and signals on N ranks: a rank that fails alone must not leave the others waiting forever,
and a Ctrl-C or SIGTERM is acted on by every rank at the same step.

A failure that every rank meets at the same point (a step that cannot be taken, a scenario error shared
by broadcast) ends the run in order: summary, exit status. A failure on one rank only (a full disk on the
rank that writes, a plugin's bug on one partition, no memory) leaves the other ranks blocked in their next
collective operation; the failing rank then writes what it can, prints one line and stops every rank
with ``MPI_Abort``. The agreement is a non-blocking barrier on a communicator of its own, so it never
matches the collective the other ranks are waiting in.
"""

from __future__ import annotations

import os
import sys
import time

AGREE_TIMEOUT_S = 10.0  # a collective failure is met within milliseconds; 10 s leaves a wide margin


def all_failing(comm, timeout: float = AGREE_TIMEOUT_S) -> bool:
    """Called by a rank that failed: True when every rank of ``comm`` (a communicator used for nothing
    else, e.g. a ``Dup()``) fails too within ``timeout`` seconds, False when some rank does not."""
    if comm.size == 1:
        return True
    request = comm.Ibarrier()
    deadline = time.monotonic() + timeout
    while not request.Test():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def mark_collective(exc: BaseException) -> BaseException:
    """Record that every rank raised ``exc`` together (the CLI then reports it once and exits in order)."""
    exc.pdemet_all_ranks = True
    return exc


def is_collective(exc: BaseException) -> bool:
    return bool(getattr(exc, "pdemet_all_ranks", False))


def abort_alone(comm, message: str, code: int = 1) -> None:
    """One line from the failing rank, then stop every rank of the job (never returns)."""
    print(f"pdemet: error: rank {comm.rank} of {comm.size}: {message}; the other ranks were stopped",
          file=sys.stderr, flush=True)
    time.sleep(0.5)  # let mpiexec forward the line before the abort tears its output streams down
    try:
        comm.Abort(code)
    finally:  # MPI_Abort may return before the process manager kills this rank: run nothing more
        os._exit(code)


class InterruptFlag:
    """SIGINT (Ctrl-C) and SIGTERM (``kill``, a batch system's time limit) set a flag that all ranks agree
    on each step, instead of raising mid-step: the run then ends as "interrupted" with a checkpoint."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, comm):
        self.comm, self.flag, self.signum, self.previous = comm, False, None, {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                sig = getattr(signal, name)
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.flag, self.signum = True, signum

    def is_set(self) -> bool:
        from pdemet.backend import MPI

        return bool(self.comm.allreduce(int(self.flag), op=MPI.MAX))

    def __exit__(self, *exc):
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
        return False
