"""A stop signal that lands while Python runs a finalizer (``__del__``, a weakref
callback; TensorFlow runs many, e.g. during ``train``'s final export) still stops the
command instead of being printed as "Exception ignored" and lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, time
    from saliency_cam.realtime.apps.interrupt import Interrupted, install_signal_handlers

    install_signal_handlers()

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs inside __del__
            sum(range(1000))

    try:
        item = Finalized()
        del item
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pass
        print("not stopped")
    except Interrupted as exc:
        print("stopped", exc, exc.exit_code)
    """
)


def test_a_signal_inside_a_finalizer_still_stops_the_run() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "stopped SIGTERM 143", done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
