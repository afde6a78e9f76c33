"""``saliency-cam``: the command line. A thin layer: every command lives in its own
module and calls the library; this file wires them together and turns errors into one
readable line (tracebacks only with ``--debug``)."""

from __future__ import annotations

import os
import sys

import typer
from typer.core import TyperGroup

from saliency_cam.models.errors import SaliencyCamError


class _Stopped(Exception):
    """Carries a Ctrl-C / SIGTERM / SIGHUP (``KeyboardInterrupt``) past typer, which turns
    one into a silent exit code 130 (typer 0.29: no line, SIGTERM's 143 lost)."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__(str(interrupt))
        self.interrupt = interrupt


class _Group(TyperGroup):
    """The app's command group: a stop signal inside any command reaches :func:`main`."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Stopped(exc) from exc


app = typer.Typer(
    name="saliency-cam",
    cls=_Group,
    help="Real-time visual saliency (MSI-Net): live camera, videos, images, export, benchmarks.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Real-time visual saliency (MSI-Net). Run 'saliency-cam COMMAND --help' for details."""
    # A callback keeps subcommands as subcommands even while only one is registered
    # (typer otherwise runs a lone command as the whole app).


def _register() -> None:
    # Each module adds its own commands; none of them imports TensorFlow at import time.
    from saliency_cam.realtime.cli import (
        bench,
        demo,
        evaluate,
        export,
        live,
        media,
        models,
        reframe,
        serve,
        train,
    )

    live.register(app)
    export.register(app)
    media.register(app)
    bench.register(app)
    evaluate.register(app)
    demo.register(app)
    models.register(app)
    train.register(app)
    serve.register(app)
    reframe.register(app)


_register()


def _click_exception() -> type[Exception]:
    """The ClickException class of whichever click typer runs on: recent typer vendors its
    own copy (``typer._click``), older releases use the click package. Found through a
    public typer class so both work and no private module is imported."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, map failures to exit codes and one-line errors.

    A process stopped by a signal ends with ``os._exit`` once its command has finished
    its files and printed its line: interpreter teardown would destroy inference sessions
    that a native thread (onnxruntime, OpenVINO) may still be inside after a second
    Ctrl-C, which aborts the process ("terminate called without an active exception",
    exit 134) instead of exiting 130. Only for the console script (``argv`` None); an
    in-process caller gets the usual ``SystemExit``.
    """
    from saliency_cam.realtime.apps.interrupt import STOP

    try:
        _run(argv)
        if argv is None and STOP.received is not None:
            raise SystemExit(0)
    except SystemExit as exc:
        if argv is None and STOP.received is not None:
            code = exc.code if isinstance(exc.code, int) else 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise


def _run(argv: list[str] | None) -> None:
    from saliency_cam.realtime.apps.interrupt import install_signal_handlers

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    install_signal_handlers()  # SIGTERM and SIGHUP stop a run as cleanly as Ctrl-C
    try:
        # standalone_mode=False: click returns typer.Exit's code instead of exiting
        code = app(args=args, prog_name="saliency-cam", standalone_mode=False)
    except SaliencyCamError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except _click_exception() as exc:  # usage errors: click prints usage + one line
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except (_Stopped, KeyboardInterrupt, typer.Abort) as exc:  # Ctrl-C, SIGTERM, SIGHUP
        if isinstance(exc, _Stopped):
            exc = exc.interrupt
        reason = str(exc) if isinstance(exc, KeyboardInterrupt) and str(exc) else "Ctrl-C"
        typer.echo(f"interrupted ({reason}): finished files kept, none half-written", err=True)
        sys.exit(getattr(exc, "exit_code", 130))
    except Exception as exc:  # last resort: one line, not a traceback
        if debug:
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (run again with --debug for details)",
            err=True,
        )
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
