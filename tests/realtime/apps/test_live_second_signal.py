"""In the live loop the first stop signal only asks it to finish the frame in hand; a
second one forces the exit at once (a user who really wants out, a frame that hangs).
Real signals, sent to this process, through the handlers the CLI installs."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from saliency_cam.realtime.apps.interrupt import (
    STOP_SIGNALS,
    Interrupted,
    StopRequest,
    install_signal_handlers,
)
from saliency_cam.realtime.apps.live import LiveOptions, run_live


@pytest.fixture
def stop() -> Iterator[StopRequest]:
    """A stop request wired to the real SIGINT/SIGTERM/SIGHUP handlers (as the CLI
    does), and pytest's own handlers back afterwards."""
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    hook = sys.unraisablehook
    request = StopRequest()
    assert install_signal_handlers(request)
    try:
        yield request
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        sys.unraisablehook = hook


def _signal_self(signum: int) -> None:
    """Send ``signum`` to this process and give the handler its turn (it runs in the
    main thread between bytecodes, during the sleeps at the latest)."""
    os.kill(os.getpid(), signum)
    for _ in range(50):
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("first", "second"),
    [(signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)],
    ids=["SIGTERM-then-SIGINT", "SIGINT-then-SIGTERM"],
)
def test_second_signal_forces_the_exit_mid_frame(
    tiny_models_dir: Path, tmp_path: Path, stop: StopRequest, first: int, second: int
) -> None:
    record = tmp_path / "r.mp4"
    options = LiveOptions(
        source="synthetic:30",
        quality="very_low",
        models_dir=tiny_models_dir,
        display=False,
        record=record,
    )
    shown: list[int] = []
    after_second: list[int] = []

    def on_frame(packet, controls, engine) -> None:  # type: ignore[no-untyped-def]
        shown.append(packet.frame.index)
        if len(shown) == 3:  # a frame that will not finish: the user signals twice
            _signal_self(first)
            assert stop.signum == first  # the first one only asked to stop
            _signal_self(second)
            after_second.append(len(shown))  # not reached: the second one raised

    result = run_live(options, on_frame=on_frame, stop=stop)
    assert after_second == []
    assert len(shown) == 3
    name = "Ctrl-C" if second == signal.SIGINT else "SIGTERM"
    assert result.interrupted == second and result.ended == f"interrupted ({name})"
    assert result.recorded == record and record.is_file()  # what was recorded is kept


def test_first_signal_in_the_loop_only_flags_and_outside_it_raises(stop: StopRequest) -> None:
    with stop.armed():
        _signal_self(signal.SIGTERM)
        assert stop.requested and stop.signum == signal.SIGTERM
        with pytest.raises(Interrupted) as raised:
            _signal_self(signal.SIGTERM)  # the same signal again: out now
        assert raised.value.signum == signal.SIGTERM and raised.value.exit_code == 143
    with pytest.raises(Interrupted):  # outside a frame loop: at once
        _signal_self(signal.SIGINT)
