"""``--workers N`` / ``--ray ADDRESS`` for the file commands (video, image, reframe,
crop, evaluate): the options, declared once, :class:`ScaleOut` (those options and the
model options the workers need, taken once from a command's parsed options), and how
jobs on workers are shown (:class:`WorkersReport`: one aggregated progress bar; the
jobs themselves run through :func:`~saliency_cam.realtime.apps.jobs.run_jobs`).

Exit status: the number of files that failed (capped at 100), 0 when all succeeded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from saliency_cam.realtime.apps.batch.runner import SessionOptions
from saliency_cam.realtime.apps.jobs import (
    JobsSummary,
    ModelRequest,
    Reporter,
    Scale,
    build_runner,
)
from saliency_cam.realtime.cli.options import aspect_mode, open_model
from saliency_cam.realtime.cli.printing import console
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="run N files in parallel on this machine (each worker its own model session; "
        "workers × --threads ≤ cores); finished files are skipped on a rerun",
        show_default=False,
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="run one task per file on Ray: 'local' (start one here, or RAY_ADDRESS), 'auto' "
        "(the running cluster) or ray://HOST:PORT; needs the ray extra",
        show_default=False,
    ),
]
GpusPerTask = Annotated[
    float, typer.Option("--gpus-per-task", min=0.0, help="GPUs each Ray task asks for")
]

SplitSeconds = Annotated[
    float | None,
    typer.Option(
        "--split-seconds",
        min=1.0,
        help="with --workers/--ray: split long videos at keyframes into pieces of at least "
        "this many seconds, one task each (video: blended pieces joined losslessly, only "
        "the blended video; reframe: the pieces' saliency maps in parallel, then the "
        "crop path and encode in one pass, same output as unsplit)",
        show_default=False,
    ),
]

#: Exit status cap (shells keep 8 bits; above 125 means signals).
MAX_EXIT = 100


@dataclass(frozen=True)
class ScaleOut:
    """How a command spreads its files: ``--workers``/``--ray``/``--gpus-per-task``/
    ``--split-seconds``/``--progress`` as parsed, and the model options every worker opens
    its session with. Build it once with :meth:`from_options`; :attr:`wanted` says
    whether the files go through the parallel runner (:attr:`scale` and :meth:`model`
    are what :func:`~saliency_cam.realtime.apps.jobs.run_jobs` takes).

    >>> scale = ScaleOut.from_options(
    ...     workers=2, ray=None, gpus_per_task=0.0, precision="fp32", models_dir=None,
    ...     device="cpu", threads=1, backend="onnxruntime", letterbox=True, mode="latency")
    >>> scale.wanted, scale.model("low").session.aspect
    (True, 'letterbox')
    """

    workers: int | None = None
    ray: str | None = None
    gpus_per_task: float = 0.0
    split_seconds: float | None = None
    progress: bool = True
    precision: str = "auto"
    models_dir: Path | None = None
    session: SessionOptions = field(default_factory=SessionOptions)

    @classmethod
    def from_options(
        cls,
        *,
        workers: int | None,
        ray: str | None,
        gpus_per_task: float,
        precision: str,
        models_dir: Path | None,
        device: str,
        threads: int | None,
        backend: str,
        letterbox: bool,
        mode: str,
        progress: bool = True,
        split_seconds: float | None = None,
    ) -> ScaleOut:
        """The command's options as given (nothing is checked or resolved here: the
        model and the runner are, when the jobs run)."""
        session = SessionOptions(device, threads, backend, aspect_mode(letterbox), mode)
        return cls(
            workers, ray, gpus_per_task, split_seconds, progress, precision, models_dir, session
        )

    @property
    def scale(self) -> Scale:
        """Where the jobs run."""
        return Scale(self.workers, self.ray, self.gpus_per_task, self.split_seconds)

    @property
    def wanted(self) -> bool:
        """True when the files go through the parallel runner (``--workers``, ``--ray``
        or ``--split-seconds`` given)."""
        return self.scale.parallel

    def model(self, name: str) -> ModelRequest:
        """The model the workers open: ``name`` with this command's model options."""
        return ModelRequest(name, self.precision, self.models_dir, self.session)

    def runner(self, name: str) -> Any:
        """The runner for model ``name`` (see :func:`build_runner`)."""
        return build_runner(
            self.model(name), workers=self.workers, ray=self.ray, gpus_per_task=self.gpus_per_task
        )

    def opener(
        self, quality: str | None, dataset: str | None, model: str | None = None, *,
        default: str = DEFAULT_QUALITY,
    ) -> Callable[[], Any]:  # fmt: skip
        """Opens the session a serial run uses (:func:`open_model`, with the options the
        workers would get)."""
        options = self.session
        return partial(
            open_model,
            quality,
            dataset,
            default=default,
            precision=self.precision,
            device=options.device,
            models_dir=self.models_dir,
            threads=options.threads,
            backend=options.backend,
            letterbox=options.aspect == "letterbox",
            mode=options.mode,
            model=model,
        )

    def report(self, kind: str, describe: Callable[[Any], list[str]] | None) -> WorkersReport:
        """How jobs on workers are shown for this command."""
        return WorkersReport(kind, describe, self.progress)


class WorkersReport(Reporter):
    """How the file commands show jobs on workers: the model line, one aggregated
    progress bar, ``describe(result)`` lines per finished file, a line per skipped one."""

    def __init__(
        self, kind: str, describe: Callable[[Any], list[str]] | None, progress: bool
    ) -> None:
        self.kind, self.describe, self.progress = kind, describe, progress
        self.err = console(stderr=True)
        self.bar: Any = None

    def opened(self, runner: Any) -> None:
        spec = runner.spec
        self.err.print(f"model: {spec.variant.label()}; {runner.describe()}")
        if spec.backend_note:
            self.err.print(spec.backend_note, markup=False)
        if not spec.variant.trained:
            self.err.print(
                "[bold yellow]UNTRAINED[/]: seeded random weights (tests and speed only)"
            )

    @contextlib.contextmanager
    def running(self, count: int) -> Iterator[None]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.progress import TimeElapsedColumn as Elapsed

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Elapsed())
        with Progress(*columns, console=self.err, disable=not self.progress) as bar:
            self.bar, self.task = bar, bar.add_task(f"{self.kind} files", total=count)
            yield

    def done(self, outcome: Any) -> None:
        from saliency_cam.realtime.apps.batch.index import INDEX_NAME

        if outcome.skipped:
            self.bar.console.print(f"{outcome.source}: already done (in {INDEX_NAME}), skipped")
        elif outcome.ok:
            lines = self.describe(outcome.result) if self.describe else [str(outcome.source)]
            for line in lines:
                self.bar.console.print(line, markup=False)
        self.bar.advance(self.task)


def print_workers_summary(summary: JobsSummary) -> None:
    """The error line of each failed file, then ``N done, N skipped, N failed in …``."""
    for _, message in summary.failed:
        console(stderr=True).print(f"[red]error[/]: {message}", markup=True)
    minutes = summary.seconds / 60.0
    rate = len(summary.results) / minutes if minutes > 0 else 0.0
    console().print(
        f"{len(summary.results)} done, {len(summary.skipped)} skipped, "
        f"{len(summary.failed)} failed in {summary.seconds:.1f} s ({rate:.1f} files/min) "
        f"with {summary.runner}",
        markup=False,
    )


def finish_on_workers(summary: JobsSummary) -> None:
    """Print the workers' summary and exit with the number of failed inputs, if any."""
    print_workers_summary(summary)
    exit_on_failures(summary.failures)


def exit_on_failures(failures: int) -> None:
    """Exit with the number of failed inputs (capped), if any."""
    if failures:
        from rich.console import Console

        Console(stderr=True).print(
            f"[red]{failures} input(s) failed[/] (exit status = number of failures)"
        )
        raise typer.Exit(min(failures, MAX_EXIT))
