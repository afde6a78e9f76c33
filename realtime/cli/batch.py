"""``--workers N`` / ``--ray ADDRESS`` for the file commands (video, image, reframe,
crop, evaluate): the options, declared once, :class:`ScaleOut` (those options and the
model options the workers need, taken once from a command's parsed options), and the one
driver that runs a command's per-file tasks through
:mod:`saliency_cam.realtime.apps.batch` with one aggregated progress bar.

Exit status: the number of files that failed (capped at 100), 0 when all succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from saliency_cam.realtime.apps.batch.runner import SessionOptions
from saliency_cam.realtime.cli.options import aspect_mode

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


def wants_batch(workers: int | None, ray: str | None) -> bool:
    """True when the command should go through the parallel runner."""
    return workers is not None or ray is not None


def index_path_for(outputs: Sequence[Path]) -> Path:
    """The index lives in the folder common to all outputs."""
    parents = [str(p.parent.resolve()) for p in outputs]
    from saliency_cam.realtime.apps.batch.index import INDEX_NAME

    return Path(os.path.commonpath(parents)) / INDEX_NAME


@dataclass(frozen=True)
class ModelRequest:
    """The model a command's workers open: its name, precision and models folder, and
    every session option the serial path honours (:class:`SessionOptions`: device,
    ``--threads``, ``--backend``, ``--letterbox`` as the aspect mode, latency/throughput)."""

    name: str
    precision: str = "auto"
    models_dir: Path | None = None
    session: SessionOptions = field(default_factory=SessionOptions)


def build_runner(
    model: ModelRequest,
    *,
    workers: int | None,
    ray: str | None,
    gpus_per_task: float = 0.0,
):
    """The runner for ``--workers N`` (a local pool, workers × threads ≤ cores) or
    ``--ray ADDRESS`` (one task per file), with the model resolved once here."""
    from saliency_cam.models.errors import SaliencyCamError
    from saliency_cam.realtime.apps.batch.runner import (
        LocalRunner,
        ModelSpec,
        RayRunner,
        thread_budget,
    )

    options = model.session
    if gpus_per_task and ray is None:
        raise SaliencyCamError("--gpus-per-task is for --ray; local workers use --device")
    if ray is not None:
        if workers is not None:
            raise SaliencyCamError("give --workers or --ray, not both")
        options = replace(options, threads=options.threads or 1)
        spec = ModelSpec.resolve(model.name, model.precision, options, model.models_dir)
        address = {"local": None}.get(ray.strip().lower(), ray.strip())
        return RayRunner(spec, address=address, gpus_per_task=gpus_per_task)
    options = replace(options, threads=thread_budget(workers or 1, options.threads))
    spec = ModelSpec.resolve(model.name, model.precision, options, model.models_dir)
    return LocalRunner(spec, workers=workers or 1)


@dataclass(frozen=True)
class ScaleOut:
    """How a command spreads its files: ``--workers``/``--ray``/``--gpus-per-task``/
    ``--split-seconds``/``--progress`` as parsed, and the model options every worker opens
    its session with. Build it once with :meth:`from_options`; :attr:`wanted` says
    whether the files go through the parallel runner, :meth:`run` runs them.

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
        model and the runner are, when :meth:`run` needs them)."""
        session = SessionOptions(device, threads, backend, aspect_mode(letterbox), mode)
        return cls(
            workers, ray, gpus_per_task, split_seconds, progress, precision, models_dir, session
        )

    @property
    def wanted(self) -> bool:
        """True when the files go through the parallel runner (``--workers``, ``--ray``
        or ``--split-seconds`` given)."""
        return wants_batch(self.workers, self.ray) or self.split_seconds is not None

    def model(self, name: str) -> ModelRequest:
        """The model the workers open: ``name`` with this command's model options."""
        return ModelRequest(name, self.precision, self.models_dir, self.session)

    def runner(self, name: str):
        """The runner for model ``name`` (see :func:`build_runner`)."""
        return build_runner(
            self.model(name), workers=self.workers, ray=self.ray, gpus_per_task=self.gpus_per_task
        )

    def run(
        self,
        kind: str,
        name: str,
        make_tasks: Callable[[str], Sequence[Any]],
        *,
        earlier_failures: int,
        describe: Callable[[Any], list[str]] | None = None,
    ):
        """Run the command's tasks with model ``name`` through :func:`run_parallel`;
        returns ``(results, failures)``; call :func:`exit_on_failures` after."""
        return run_parallel(
            kind=kind,
            make_tasks=make_tasks,
            model=self.model(name),
            workers=self.workers,
            ray=self.ray,
            gpus_per_task=self.gpus_per_task,
            earlier_failures=earlier_failures,
            progress=self.progress,
            describe=describe,
            split_seconds=self.split_seconds,
        )


def run_parallel(
    *,
    kind: str,
    make_tasks: Callable[[str], Sequence[Any]],
    model: ModelRequest,
    workers: int | None,
    ray: str | None,
    gpus_per_task: float,
    earlier_failures: int,
    progress: bool,
    describe: Callable[[Any], list[str]] | None = None,
    split_seconds: float | None = None,
):
    """Run the tasks ``make_tasks(note)`` builds (:class:`FileTask`, whose outputs carry
    the model's ``note``) in parallel, print a line per finished file and
    a summary; failures count ``earlier_failures`` too (inputs that could not even be
    listed). ``split_seconds`` splits each video task into pieces at keyframes (see
    :class:`~saliency_cam.realtime.apps.batch.chunks.ChunkingRunner`; reframe tasks
    take its two-phase plan).
    Returns ``(results, failures)``; call :func:`exit_on_failures` after."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from saliency_cam.realtime.apps.batch.runner import run_batch

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    runner: Any = build_runner(model, workers=workers, ray=ray, gpus_per_task=gpus_per_task)
    spec = runner.spec
    if split_seconds is not None:
        from saliency_cam.realtime.apps.batch.chunks import ChunkingRunner

        runner = ChunkingRunner(runner, split_seconds)
    tasks = make_tasks(spec.note)
    err.print(f"model: {spec.variant.label()}; {runner.describe()}")
    if spec.backend_note:
        err.print(spec.backend_note, markup=False)
    if not spec.variant.trained:
        err.print("[bold yellow]UNTRAINED[/]: seeded random weights (tests and speed only)")
    index = index_path_for([p for t in tasks for p in t.outputs])
    results = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not progress,
    ) as bar:
        bar_task = bar.add_task(f"{kind} files", total=len(tasks))

        def done(outcome) -> None:
            if outcome.skipped:
                bar.console.print(f"{outcome.source}: already done (in {index.name}), skipped")
            elif outcome.ok:
                results.append(outcome.result)
                lines = describe(outcome.result) if describe else [str(outcome.source)]
                for line in lines:
                    bar.console.print(line, markup=False)
            bar.advance(bar_task)

        report = run_batch(tasks, runner, kind=kind, index_path=index, on_done=done)
    for outcome in report.failed:
        err.print(f"[red]error[/]: {outcome.error}", markup=True)
    minutes = report.seconds / 60.0
    rate = len(report.done) / minutes if minutes > 0 else 0.0
    out.print(
        f"{len(report.done)} done, {len(report.skipped)} skipped, {len(report.failed)} failed "
        f"in {report.seconds:.1f} s ({rate:.1f} files/min) with {runner.describe()}",
        markup=False,
    )
    return results, len(report.failed) + earlier_failures


def exit_on_failures(failures: int) -> None:
    """Exit with the number of failed inputs (capped), if any."""
    if failures:
        from rich.console import Console

        Console(stderr=True).print(
            f"[red]{failures} input(s) failed[/] (exit status = number of failures)"
        )
        raise typer.Exit(min(failures, MAX_EXIT))
