"""A run's figures drawn by processes forked before its heavy imports (``occ run``).

A small run's wall time is mostly fixed costs: importing pandas, numba and matplotlib,
and drawing the figures. :class:`FigureWorker` forks one process as soon as ``occ run``
has validated its input, before the simulation's imports. That process imports
matplotlib, :mod:`occ.plots` and scipy.special and draws one small figure (font and
renderer caches) on the other core while the parent imports the engine and simulates,
then waits. When the run's tables are computed, the parent sends it the
:class:`~occ.results.RunResult` (pickled) and the staging folder; the worker forks once
more (both halves have matplotlib already) and the two draw alternate figures of
:func:`occ.plots.figure_jobs` while the parent writes the tables. The files are the
same, byte for byte, as those drawn in line (``tests/test_figure_worker.py``).

Figures are drawn in line instead where forking is not safe or not possible: not Linux
(``PR_SET_PDEATHSIG`` is Linux's), another thread running in the process (a thread that
holds a lock at the fork would leave it held in the child), JAX, torch or CuPy already
imported (their thread pools), or a fork that fails.

Lifetime: a worker dies with the process that forked it (``PR_SET_PDEATHSIG``); ignores
Ctrl-C (its parent handles it, and kills the workers before it removes the staging
folder); writes nothing on the terminal (its standard streams are /dev/null: what it has
to say comes back in its reply); and leaves at once when the parent closes the request
pipe without a request (a run that failed before its figures).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import os
import pickle
import signal
import struct
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["FigureWorker", "unusable_reason"]

_PR_SET_PDEATHSIG = 1
_LENGTH = struct.Struct("<Q")
_THREAD_POOLS = ("jax", "torch", "cupy")
"""Modules whose import starts threads that a fork would copy in an unknown state."""


def unusable_reason() -> str:
    """Why figures cannot be drawn by a forked worker here (``""`` where they can)."""
    if not sys.platform.startswith("linux"):
        return f"no PR_SET_PDEATHSIG on {sys.platform}"
    if threading.active_count() > 1:
        return f"{threading.active_count()} threads running"
    loaded = [name for name in _THREAD_POOLS if name in sys.modules]
    return f"{', '.join(loaded)} imported" if loaded else ""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the pipe (the other side closed or died)."""
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _send(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _LENGTH.pack(len(data)) + data)


def _receive(fd: int) -> Any:
    """The next message, or None where the pipe ended without one."""
    header = _read_exactly(fd, _LENGTH.size)
    if header is None:
        return None
    data = _read_exactly(fd, _LENGTH.unpack(header)[0])
    return None if data is None else pickle.loads(data)


def _die_with(parent: int) -> None:
    """SIGKILL this process when ``parent`` ends (at once if it has ended already)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _quiet() -> None:
    """Standard streams to /dev/null: a worker never holds its parent's terminal or pipes
    (a caller reading the command's output would wait for the worker too)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _fork(body: Any, *arguments: Any, close: tuple[int, ...] = (),
          group: bool = False) -> tuple[int, int]:
    """Fork a child that closes ``close`` (the parent's ends of its pipes), runs
    ``body(reply_fd, *arguments)`` and exits; returns its pid and the read end of its reply
    pipe. With ``group`` the child leads a process group of its own (its own children in
    it), so that one ``killpg`` ends them all."""
    reply_read, reply_write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's lines run in another process
        for fd in (reply_read, *close):
            os.close(fd)
        if group:
            with contextlib.suppress(OSError):
                os.setpgid(0, 0)
        _child(parent, body, reply_write, *arguments)
    os.close(reply_write)
    if group:
        with contextlib.suppress(OSError):  # both sides set it: no race with a kill
            os.setpgid(pid, pid)
    return pid, reply_read


def _child(parent: int, body: Any, reply: int, *arguments: Any) -> NoReturn:  # pragma: no cover
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _die_with(parent)
        body(reply, *arguments)
    except BaseException as exc:  # reported to the parent, never on the terminal
        code = 1
        with contextlib.suppress(BaseException):
            _send(reply, {"error": f"{type(exc).__name__}: {exc}"})
    finally:
        os._exit(code)


def _warm() -> None:
    """Import what drawing needs and draw one small figure into memory (matplotlib's font
    and renderer caches), while the parent simulates."""
    import io

    import scipy.special  # noqa: F401  (t quantiles of the bands)

    import occ.results  # noqa: F401  (the RunResult class, unpickled here)
    from occ.plots import plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_title("t")
    fig.savefig(io.BytesIO(), format="png", dpi=20)
    plt.close(fig)


def _serve(reply: int, request: int) -> None:  # pragma: no cover - runs in the worker
    """The worker: warm up, wait for the run, draw its figures in two processes."""
    _quiet()
    _warm()
    message = _receive(request)
    if message is None:  # the run ended without figures
        return
    result, folder, figure_format = message
    from occ.plots import draw_figures, figure_jobs

    jobs = figure_jobs(result, Path(folder), figure_format)
    mine, theirs = jobs[0::2], jobs[1::2]
    helper = (_fork(lambda fd: _send(fd, {"failed": draw_figures(theirs)}),
                    close=(reply, request)) if theirs else None)
    failed = draw_figures(mine)
    if helper is not None:
        pid, fd = helper
        answer = _receive(fd)
        os.waitpid(pid, 0)
        os.close(fd)
        if answer is None or "error" in answer:
            why = "the drawing process ended" if answer is None else answer["error"]
            answer = {"failed": {path: f"{path.name} ({why})" for path, _ in theirs}}
        failed |= answer["failed"]
    order = {path: i for i, (path, _) in enumerate(jobs)}
    _send(reply, {"failed": dict(sorted(failed.items(), key=lambda item: order[item[0]]))})


class FigureWorker:
    """A forked process that will draw one run's figures (module docstring). Use
    :meth:`start` (None where a worker cannot be used), then :meth:`draw` once, or
    :meth:`close` to end it unused; a context manager closes it."""

    def __init__(self) -> None:
        request_read, request_write = os.pipe()
        try:
            self.pid, self._reply = _fork(_serve, request_read, close=(request_write,),
                                          group=True)
        except BaseException:
            os.close(request_write)
            raise
        finally:
            os.close(request_read)
        self._request: int | None = request_write

    @classmethod
    def start(cls) -> FigureWorker | None:
        """A worker, or None where figures must be drawn in line (:func:`unusable_reason`,
        or the fork failed)."""
        if unusable_reason():
            return None
        try:
            return cls()
        except OSError:
            return None

    def draw(self, result: Any, folder: Path, figure_format: str) -> FigureWorker:
        """Send the run to the worker and return at once; :meth:`wait` then waits for its
        figures (the tables can be written in between)."""
        request, self._request = self._request, None
        try:
            sent = copy.copy(result)
            sent.trajectories = {}  # the figures never read them
            _send(request, (sent, str(folder), figure_format))
        except BrokenPipeError:
            pass  # the worker died: its missing reply says so below
        finally:
            os.close(request)
        return self

    def wait(self) -> None:
        """Wait for the figures sent by :meth:`draw`; :class:`~occ.errors.FigureError`
        names those not drawn."""
        from occ.errors import FigureError

        answer = _receive(self._reply)
        self._reap()
        if answer is None or "error" in answer:
            why = "it ended" if answer is None else answer["error"]
            raise FigureError(f"figures not drawn: the figure process failed ({why})")
        error = FigureError.naming(answer["failed"])
        if error is not None:
            raise error

    def _reap(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None
        for name in ("_request", "_reply"):
            fd = getattr(self, name)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, None)

    def close(self) -> None:
        """End the worker (killed where it has not finished) and free its pipes; its
        helper dies with it (PR_SET_PDEATHSIG)."""
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

