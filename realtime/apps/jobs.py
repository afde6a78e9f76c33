"""One way to run a file command's jobs (``image``, ``video``, ``reframe``, ``crop``, and
the maps of ``evaluate --workers``): the :class:`Plan`'s inputs and the outputs each
names → skip the ones a rerun finds finished → run the rest, reporting each as it ends
→ one :class:`JobsSummary` (done, skipped, failed with reasons, outputs).

Where the jobs run is :class:`Scale`: here, one after another with one session (the
default), or ``--workers N`` / ``--ray ADDRESS`` through :mod:`.batch` (one session per
worker; each finished file goes into an index, so a rerun skips it). A failed job
becomes one line of the summary and the others still run; its outputs never appear,
because every job writes its files under temporary names and renames them when whole.

>>> plan = plan_image_jobs(["photos"], Path("out"))                        # doctest: +SKIP
>>> summary = run_jobs(plan, image_task(ImageStyle()), kind="image",       # doctest: +SKIP
...                    open_session=lambda: open_session("low"))
>>> len(summary.results), summary.failed                                  # doctest: +SKIP
(12, [])
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError, failure_line
from saliency_cam.realtime.apps.batch.runner import (
    FileTask,
    Runner,
    SessionOptions,
    TaskOutcome,
    run_batch,
)
from saliency_cam.realtime.apps.plan import Plan

#: ``make_task(source, outputs, note)``: one job as a task; ``note`` is the model label
#: the outputs carry (it says UNTRAINED for random weights).
MakeTask = Callable[[Path, Any, str], FileTask]


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
    model: ModelRequest, *, workers: int | None, ray: str | None, gpus_per_task: float = 0.0
) -> Runner:
    """The runner for ``--workers N`` (a local pool, workers × threads ≤ cores) or
    ``--ray ADDRESS`` (one task per file), with the model resolved once here."""
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
class Scale:
    """Where the jobs run: ``workers`` local processes, or Ray at ``ray`` (each task
    asking for ``gpus_per_task``), long videos cut into pieces of ``split_seconds``;
    all None: here, one after another."""

    workers: int | None = None
    ray: str | None = None
    gpus_per_task: float = 0.0
    split_seconds: float | None = None

    @property
    def parallel(self) -> bool:
        """True when the jobs go through the parallel runner."""
        return self.workers is not None or self.ray is not None or self.split_seconds is not None

    def runner(self, model: ModelRequest) -> Runner:
        """The parallel runner for ``model`` (:func:`build_runner`, split when asked)."""
        runner = build_runner(
            model, workers=self.workers, ray=self.ray, gpus_per_task=self.gpus_per_task
        )
        if self.split_seconds is None:
            return runner
        from saliency_cam.realtime.apps.batch.chunks import ChunkingRunner

        chunking: Any = ChunkingRunner(runner, self.split_seconds)  # duck-typed Runner
        return chunking


#: Run here, one job after another (no ``--workers``/``--ray``).
HERE = Scale()


def index_path_for(outputs: Sequence[Path]) -> Path:
    """The index of finished files lives in the folder common to all outputs."""
    from saliency_cam.realtime.apps.batch.index import INDEX_NAME

    parents = [str(p.parent.resolve()) for p in outputs]
    return Path(os.path.commonpath(parents)) / INDEX_NAME


class Here(Runner):
    """The jobs in this process, one after another, with one open ``session``.
    ``hooks(source)`` gives extra keyword arguments for each job's work (progress
    callbacks: they stay in this process, so they need not pickle)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.hooks: Callable[[Path], dict[str, Any]] = lambda source: {}
        #: the job in hand (what an interrupted run was working on)
        self.current: Path | None = None

    @property
    def note(self) -> str:
        """The model label the outputs carry."""
        return str(self.session.note)

    def describe(self) -> str:
        return "this process"

    def run(self, tasks: Sequence[FileTask], on_done: Callable[[TaskOutcome], None]) -> None:
        for task in tasks:
            self.current = task.source
            on_done(self.attempt(task))
        self.current = None

    def attempt(self, task: FileTask) -> TaskOutcome:
        """One job; a failure becomes its error line (Ctrl-C is not caught: it stops all)."""
        started = time.perf_counter()
        try:
            result = task.work(self.session, task.source, **self.hooks(task.source))
        except Exception as exc:  # one bad file must not end the batch
            return TaskOutcome(task.source, False, error=failure_line(task.source, exc))
        return TaskOutcome(task.source, True, result, seconds=time.perf_counter() - started)


class Reporter:
    """What a command shows while its jobs run (the CLI's bars and lines); this one
    shows nothing. :func:`run_jobs` calls ``opened`` once the model is open, runs the
    jobs inside ``running``, asks ``begin`` for each job run here, calls ``done`` as
    each ends (also for a skipped one)."""

    def opened(self, runner: Runner) -> None:
        """The model is open (``runner.session`` here, ``runner.spec`` for workers)."""

    @contextlib.contextmanager
    def running(self, count: int) -> Iterator[None]:
        """Around the ``count`` jobs (a progress bar lives here)."""
        yield

    def begin(self, source: Path) -> dict[str, Any]:
        """Extra keyword arguments for the work of ``source`` when run here."""
        return {}

    def done(self, outcome: TaskOutcome) -> None:
        """``outcome`` of one job: a result, an error line, or skipped."""


@dataclass
class JobsSummary:
    """What a command's jobs came to: the ``results`` of the jobs done, in plan order,
    the inputs ``skipped`` as finished by an earlier run (``--workers``/``--ray``), the
    jobs ``failed`` as ``(input, message)``, the plan's ``problems`` (arguments that
    named nothing usable), the time, and where they ran. ``interrupted`` names the job
    in hand when Ctrl-C stopped the run."""

    kind: str
    results: list[Any] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    runner: str = ""
    interrupted: Path | None = None

    @property
    def outputs(self) -> list[Path]:
        """Every file the jobs done wrote."""
        return [p for r in self.results for p in getattr(r, "outputs", [])]

    @property
    def failures(self) -> int:
        """Inputs that failed: the jobs and the plan's problems."""
        return len(self.failed) + len(self.problems)

    @property
    def total(self) -> int:
        """Inputs asked for (the failures count against this)."""
        return len(self.results) + len(self.skipped) + self.failures

    def record(self, outcome: TaskOutcome) -> None:
        """Add one job's outcome."""
        if outcome.skipped:
            self.skipped.append(outcome.source)
        elif outcome.ok:
            self.results.append(outcome.result)
        else:
            self.failed.append((str(outcome.source), outcome.error))


def jobs_of(plan: Plan[Any]) -> list[tuple[Path, Any]]:
    """The plan's ``(input, outputs)`` pairs, whichever container it holds them in."""
    jobs = plan.jobs
    return list(jobs.items()) if isinstance(jobs, Mapping) else list(jobs)


def open_runner(
    scale: Scale,
    model: ModelRequest | None,
    open_session: Callable[[], Any] | None,
    here: Callable[[Any], Here] = Here,
) -> Runner:
    """The runner ``scale`` asks for: the parallel one for ``model``, else ``here``
    (default :class:`Here`) around the session ``open_session()`` opens."""
    if scale.parallel:
        if model is None:
            raise SaliencyCamError("--workers/--ray need the model by name")
        return scale.runner(model)
    if open_session is None:
        raise SaliencyCamError("run_jobs needs open_session to run here")
    return here(open_session())


def run_jobs(
    plan: Plan[Any],
    make_task: MakeTask,
    *,
    kind: str,
    scale: Scale = HERE,
    model: ModelRequest | None = None,
    open_session: Callable[[], Any] | None = None,
    here: Callable[[Any], Here] = Here,
    runner: Runner | None = None,
    resume: bool = True,
    reporter: Reporter | None = None,
) -> JobsSummary:
    """Run every job of ``plan`` (``make_task(source, outputs, note)`` builds each) and
    return the summary; the plan's problems count as failures.

    ``scale`` says where: here (``open_session()`` opens the one session, ``here`` wraps
    it: e.g. a runner that batches pictures) or on workers (``model`` names the model
    each opens; finished files are recorded in an index next to the outputs and skipped
    on a rerun; ``resume=False``: no index). ``runner``, when given, is used as it is
    instead. ``reporter`` shows progress. Ctrl-C (and SIGTERM/SIGHUP) is re-raised
    with the summary so far as ``exc.summary``.
    """
    reporter = reporter or Reporter()
    runner = runner or open_runner(scale, model, open_session, here)
    reporter.opened(runner)
    note = runner.note if isinstance(runner, Here) else runner.spec.note
    tasks = [make_task(source, outputs, note) for source, outputs in jobs_of(plan)]
    summary = JobsSummary(kind, problems=list(plan.problems), runner=runner.describe())

    def finished(outcome: TaskOutcome) -> None:
        summary.record(outcome)
        reporter.done(outcome)

    started = time.perf_counter()
    try:
        with reporter.running(len(tasks)):
            _run(tasks, runner, kind, reporter, finished, resume)
    except KeyboardInterrupt as exc:
        summary.interrupted = getattr(runner, "current", None)
        exc.summary = summary  # type: ignore[attr-defined]
        raise
    finally:
        summary.seconds = time.perf_counter() - started
    _in_plan_order(summary, tasks)
    return summary


def _run(
    tasks: Sequence[FileTask],
    runner: Runner,
    kind: str,
    reporter: Reporter,
    finished: Callable[[TaskOutcome], None],
    resume: bool,
) -> None:
    if isinstance(runner, Here):
        runner.hooks = reporter.begin
        runner.run(tasks, finished)
        return
    # on workers: the index of finished files makes a rerun (or a killed run) resume
    index = index_path_for([p for t in tasks for p in t.outputs]) if tasks and resume else None
    run_batch(tasks, runner, kind=kind, index_path=index, on_done=finished)


def _in_plan_order(summary: JobsSummary, tasks: Sequence[FileTask]) -> None:
    """Results and failures in the plan's order (workers finish them in any order)."""
    order = {str(t.source): i for i, t in enumerate(tasks)}
    summary.results.sort(key=lambda r: order.get(str(getattr(r, "source", "")), len(order)))
    summary.failed.sort(key=lambda f: order.get(f[0], len(order)))
