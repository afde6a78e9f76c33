"""Ctrl-C, SIGTERM and SIGHUP stop a run the same way: the frame in hand is finished,
what was recorded is closed and renamed, temporaries are removed, and the command says in
one line that it was interrupted and what it kept. (``timeout``, systemd and
``docker stop`` send SIGTERM; closing a terminal sends SIGHUP.)

The CLI calls :func:`install_signal_handlers` once. Outside a frame loop a signal raises
:class:`Interrupted` (a ``KeyboardInterrupt``) at once, so ``with`` blocks unwind and
write-then-rename temporaries disappear. Inside a frame loop (``with STOP.armed():``)
the first signal only sets a flag that the loop checks between frames; a second one
raises, for a user who really wants out now — but never while a frame is being written
(``with STOP.shielded():``) nor once the loop has begun to finish its files
(:meth:`StopRequest.hold`): there it is only noted, so an encoder is never left with half
a frame and the threads are joined before the process exits.

>>> with STOP.armed():                                  # doctest: +SKIP
...     for frame in frames:
...         if STOP.requested:
...             break                                   # finish cleanly
...         process(frame)
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

#: The signals handled like Ctrl-C (SIGHUP does not exist on Windows).
STOP_SIGNALS: tuple[int, ...] = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


def signal_name(signum: int) -> str:
    """``Ctrl-C`` for SIGINT, else the signal's name (``SIGTERM``)."""
    if signum == signal.SIGINT:
        return "Ctrl-C"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code_for(signum: int) -> int:
    """The shell's convention for a run ended by a signal: 128 + its number."""
    return 128 + int(signum)


class Interrupted(KeyboardInterrupt):
    """Raised for a stop signal outside a frame loop (or a second one inside)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal_name(signum))
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.signum)


class StopRequest:
    """A stop flag that signal handlers set and frame loops check between frames."""

    def __init__(self) -> None:
        self.signum: int | None = None
        #: The last stop signal this process received, never reset (the console entry
        #: point ends such a process without interpreter teardown: see cli/main.py).
        self.received: int | None = None
        self._armed = 0
        self._shield = 0
        self._held = False
        self._lock = threading.Lock()

    @property
    def requested(self) -> bool:
        """True once a stop was asked for during the current armed section."""
        return self.signum is not None

    @property
    def reason(self) -> str:
        """``interrupted (SIGTERM)``, or "" when no stop was asked for."""
        return f"interrupted ({signal_name(self.signum)})" if self.signum is not None else ""

    def request(self, signum: int = signal.SIGTERM) -> None:
        """Ask the running loop to stop after its current frame (what a handler does)."""
        self.signum = int(signum)

    @contextlib.contextmanager
    def armed(self) -> Iterator[StopRequest]:
        """Within this block signals set the flag instead of raising (the caller checks
        :attr:`requested`). The flag starts clear on the outermost entry."""
        with self._lock:
            if self._armed == 0:
                self.signum = None
            self._armed += 1
        try:
            yield self
        finally:
            with self._lock:
                self._armed -= 1
                if self._armed == 0:
                    self._held = False

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """Within an armed section: signals in this block are only noted (the first sets
        :attr:`requested`), so the work in it (writing one frame) is never cut in two."""
        self._shield += 1
        try:
            yield
        finally:
            self._shield -= 1

    def hold(self) -> None:
        """From now until the armed section ends, signals are only noted: the loop is
        finishing its files and joining its threads, and a second Ctrl-C must not cut
        that short (a thread left inside native code aborts the process at exit)."""
        self._held = True

    def handle(self, signum: int, _frame: object = None) -> None:
        """The signal handler: flag the first signal while armed (note later ones while
        shielded or held), raise otherwise."""
        self.received = int(signum)
        if self._armed and (self.signum is None or self._shield or self._held):
            if self.signum is None:
                self.signum = int(signum)
            return
        raise Interrupted(signum)


#: The process's one stop request (signals are process-wide).
STOP = StopRequest()


def install_signal_handlers(stop: StopRequest = STOP) -> bool:
    """Route Ctrl-C, SIGTERM and SIGHUP to ``stop``. Only the main thread can install
    handlers: returns False (and changes nothing) elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop.handle)
    if not getattr(sys.unraisablehook, "_redelivers_stops", False):
        sys.unraisablehook = _redeliver_stops(sys.unraisablehook)
    return True


def _redeliver_stops(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    """An ``sys.unraisablehook`` that does not let a stop signal be lost. A signal that
    arrives while Python runs a finalizer (``__del__``, a weakref callback: TensorFlow and
    Keras run many) raises :class:`Interrupted` inside it, where Python prints "Exception
    ignored in ..." with a traceback and carries on: the command ran to its end as if
    nobody had pressed Ctrl-C. Instead the signal is delivered to the main thread again,
    from a helper thread a moment later: delivered from here, its handler would run at
    once, still inside the finalizer."""

    def hook(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, Interrupted):
            threading.Thread(
                target=_redeliver, args=(exc.signum,), name="redeliver-stop", daemon=True
            ).start()
            return
        previous(unraisable)

    hook._redelivers_stops = True  # type: ignore[attr-defined]
    return hook


def _redeliver(signum: int) -> None:
    time.sleep(0.05)  # the main thread has left the finalizer by then (if not: again)
    _thread.interrupt_main(signum)
