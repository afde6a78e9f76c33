"""Run one job per file in parallel: a local process pool or a Ray cluster, behind one
interface, with an index of finished files (rerun skips, a killed run resumes).

Every worker opens its own session (its own onnxruntime thread budget) once and runs
many files with it. Per-file work is a plain function ``work(session, source)`` (a
module-level function or a :func:`functools.partial` of one, so it pickles), e.g.
``partial(run_video_job, outputs=..., style=...)``; it writes its outputs atomically.

>>> spec = ModelSpec.resolve("low", options=SessionOptions(threads=1))       # doctest: +SKIP
>>> tasks = [FileTask(src, (out,), partial(process_image, outputs=...))]     # doctest: +SKIP
>>> report = run_batch(tasks, LocalRunner(spec, workers=2), kind="image",   # doctest: +SKIP
...                    index_path=Path("out/.saliency-cam-done.jsonl"))
>>> report.failed                                                            # doctest: +SKIP
[]
"""

from __future__ import annotations

import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError, first_line
from saliency_cam.models.install import install_command
from saliency_cam.models.manifest import Manifest, VariantInfo, sha256_file
from saliency_cam.realtime.apps.batch.index import DoneIndex, task_key

#: ``work(session, source) -> result`` (picklable: module-level function or a partial).
Work = Callable[[Any, Path], Any]


@dataclass(frozen=True)
class SessionOptions:
    """How every worker opens its session: the options the serial path gives
    :func:`~saliency_cam.realtime.runtime.session.open_session` (device, onnxruntime
    threads per worker, backend, aspect mode, latency/throughput mode), in one object so
    that none is dropped on the way to a worker.

    >>> SessionOptions(backend="openvino", aspect="letterbox").aspect
    'letterbox'
    """

    device: str = "auto"
    threads: int | None = None
    backend: str = "onnxruntime"
    aspect: str = "match"
    mode: str = "throughput"


@dataclass(frozen=True)
class ModelSpec:
    """Which model every worker opens (resolved once, in the driver) and how
    (:class:`SessionOptions`; ``backend`` is never ``auto`` here: the driver resolved
    it, and ``backend_note`` says what it measured)."""

    variant: VariantInfo
    options: SessionOptions = field(default_factory=SessionOptions)
    backend_note: str = ""

    @property
    def device(self) -> str:
        return self.options.device

    @property
    def threads(self) -> int | None:
        return self.options.threads

    @classmethod
    def resolve(
        cls,
        name: str,
        precision: str = "fp32",
        options: SessionOptions | None = None,
        models_dir: str | os.PathLike[str] | None = None,
    ) -> ModelSpec:
        """Find the exported variant now (a missing model fails before any worker starts).

        ``--backend auto`` and ``--precision auto`` are decided here, once, by the one
        model opener (a session opened in the driver; ``auto`` measures once per machine
        and caches), so every worker runs the same backend and file.
        """
        from saliency_cam.realtime.runtime.session import find_variant, open_session

        options = options or SessionOptions()
        if options.backend.strip().lower() != "auto" and precision.strip().lower() != "auto":
            return cls(find_variant(name, precision, models_dir), options)
        session = open_session(
            name,
            precision,
            options.device,
            models_dir,
            threads=options.threads,
            backend=options.backend,
            mode=options.mode,
            aspect=options.aspect,
            warmup=0,
        )
        chosen = replace(options, backend=session.backend)
        return cls(session.variant, chosen, session.backend_note)

    @property
    def note(self) -> str:
        """The model label outputs carry (says UNTRAINED for random weights); the same
        text :attr:`SaliencySession.note` gives."""
        return f"saliency-cam {self.variant.network} {self.variant.label()}"

    def open(self, models_dir: Path | None = None):
        """The worker's session, through the one model opener, with every option."""
        from saliency_cam.realtime.runtime.session import open_session

        options = self.options
        session = open_session(
            self.variant.preset,
            self.variant.precision,
            options.device,
            models_dir or self.variant.directory,
            threads=options.threads,
            backend=options.backend,
            mode=options.mode,
            aspect=options.aspect,
        )
        session.backend_note = self.backend_note
        return session


@dataclass(frozen=True)
class FileTask:
    """One input file, the outputs its work writes, and the work itself."""

    source: Path
    outputs: tuple[Path, ...]
    work: Work


@dataclass
class TaskOutcome:
    """What one file came to: ``result`` (the work's return value) or ``error`` (one line)."""

    source: Path
    ok: bool
    result: Any = None
    error: str = ""
    skipped: bool = False
    seconds: float = 0.0
    worker: str = ""
    #: the backend and aspect mode of the session that ran it (what the worker really used)
    session: str = ""


def execute(session, task: FileTask) -> TaskOutcome:
    """Run ``task`` with ``session``; any failure becomes an error line, never a crash."""
    started = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        result = task.work(session, task.source)
    except SaliencyCamError as exc:
        return TaskOutcome(task.source, False, error=str(exc), worker=worker)
    except Exception as exc:  # one bad file must not end the batch
        return TaskOutcome(
            task.source,
            False,
            error=f"{task.source}: {type(exc).__name__}: {first_line(exc)}",
            worker=worker,
        )
    return TaskOutcome(
        task.source,
        True,
        result=result,
        seconds=time.perf_counter() - started,
        worker=worker,
        session=session_text(session),
    )


def session_text(session) -> str:
    """``backend (provider), aspect`` of a worker's session, as outcomes report it."""
    providers = getattr(session, "providers", None) or ["?"]
    return f"{getattr(session, 'backend', '?')} ({providers[0]}), {getattr(session, 'aspect', '?')}"


def thread_budget(workers: int, threads: int | None, cores: int | None = None) -> int:
    """onnxruntime threads per worker so that workers × threads ≤ cores.

    >>> thread_budget(2, None, cores=8)
    4
    """
    cores = cores or os.cpu_count() or 1
    if workers < 1:
        raise SaliencyCamError("--workers must be at least 1")
    if workers > cores:
        raise SaliencyCamError(f"--workers {workers} is more than this machine's {cores} cores")
    if threads is None:
        return max(1, cores // workers)
    if workers * threads > cores:
        raise SaliencyCamError(
            f"--workers {workers} × --threads {threads} = {workers * threads} threads on "
            f"{cores} cores: lower one of them (workers × threads ≤ cores)"
        )
    return threads


OnDone = Callable[[TaskOutcome], None]


class Runner(ABC):
    """Runs tasks somewhere and reports each outcome (in the driver) as it arrives."""

    spec: ModelSpec

    @abstractmethod
    def run(self, tasks: Sequence[FileTask], on_done: OnDone) -> None: ...

    @abstractmethod
    def describe(self) -> str: ...


# --------------------------------------------------------------------------- local pool

_WORKER_SESSION = None


def _init_local_worker(spec: ModelSpec) -> None:
    import cv2

    global _WORKER_SESSION
    # OpenCV's own pool would otherwise take every core in every worker
    cv2.setNumThreads(spec.threads or 1)
    _WORKER_SESSION = spec.open()


def _run_local_task(task: FileTask) -> TaskOutcome:
    return execute(_WORKER_SESSION, task)


@dataclass
class LocalRunner(Runner):
    """``workers`` processes on this machine (spawned: no onnxruntime state is forked),
    each with its own session of ``spec.threads`` threads."""

    spec: ModelSpec
    workers: int = 2

    def describe(self) -> str:
        return (
            f"{self.workers} local worker(s) × {self.spec.threads or 'all'} thread(s), "
            f"{self.spec.options.backend} ({self.spec.options.aspect})"
        )

    def run(self, tasks: Sequence[FileTask], on_done: OnDone) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, max(1, len(tasks))),
            mp_context=context,
            initializer=_init_local_worker,
            initargs=(self.spec,),
        )
        try:
            futures = {pool.submit(_run_local_task, task): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    outcome = TaskOutcome(task.source, False, error=f"{task.source}: worker died")
                except Exception as exc:  # e.g. the worker could not open the model
                    outcome = TaskOutcome(task.source, False, error=first_line(exc))
                on_done(outcome)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- Ray


@dataclass(frozen=True)
class ModelBundle:
    """The model file's bytes and its manifest entry, put in Ray's object store once and
    read by each node (only when it has no identical copy: checked by sha256)."""

    variant: dict[str, Any]
    data: bytes


#: A Ray worker's open sessions, by model file and options: the worker process outlives
#: a task, and in one driver (one Ray job) two commands may ask for the same file with
#: different options (--letterbox, --threads …), which must not share a session.
_RAY_SESSIONS: dict[tuple[str, SessionOptions], Any] = {}


def _node_models_dir(spec: ModelSpec, bundle_ref: list) -> Path:
    """A models dir holding ``spec.variant`` on this node: the driver's path if it is
    shared and matches by sha256, else a per-node cache filled from the object store."""
    variant = spec.variant
    shared = variant.directory
    local = None if shared is None else shared / variant.file
    if local is not None and local.is_file() and sha256_file(local) == variant.sha256:
        return shared
    cache = Path(tempfile.gettempdir()) / "saliency-cam-ray-models" / variant.sha256[:16]
    target = cache / variant.file
    if not (target.is_file() and sha256_file(target) == variant.sha256):
        import ray

        from saliency_cam.models.atomic import atomic_write_bytes

        bundle: ModelBundle = ray.get(bundle_ref[0])
        atomic_write_bytes(target, bundle.data)
        if sha256_file(target) != variant.sha256:
            raise SaliencyCamError(f"model shipped to {target} does not match its sha256")
        manifest = Manifest(cache)
        manifest.put(VariantInfo(**bundle.variant))
        manifest.save()
    return cache


def _run_ray_task(spec: ModelSpec, bundle_ref: list, task: FileTask) -> TaskOutcome:
    """Body of a Ray task: one session per worker process (cached), then the file."""
    key = (spec.variant.sha256, spec.options)
    session = _RAY_SESSIONS.get(key)
    try:
        if session is None:
            session = spec.open(_node_models_dir(spec, bundle_ref))
            _RAY_SESSIONS[key] = session
    except Exception as exc:
        return TaskOutcome(task.source, False, error=f"{task.source}: {first_line(exc)}")
    return execute(session, task)


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise SaliencyCamError("--ray needs Ray: " + install_command("ray")) from exc
    return ray


@dataclass
class RayRunner(Runner):
    """One Ray task per file on the cluster at ``address`` (None: ``RAY_ADDRESS`` or a
    new local one; a Ray already initialised in this process is used as is). Each task
    asks for ``spec.threads`` CPUs and ``gpus_per_task`` GPUs; the model goes into the
    object store once."""

    spec: ModelSpec
    address: str | None = None
    gpus_per_task: float = 0.0
    max_retries: int = 1
    started_here: bool = field(default=False, init=False)

    def describe(self) -> str:
        where = self.address or "local/RAY_ADDRESS"
        gpus = f", {self.gpus_per_task:g} GPU" if self.gpus_per_task else ""
        options = self.spec.options
        return (
            f"Ray ({where}): {options.threads or 1} CPU{gpus} per task, "
            f"{options.backend} ({options.aspect})"
        )

    def run(self, tasks: Sequence[FileTask], on_done: OnDone) -> None:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(
                address=self.address or None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
            self.started_here = True
        try:
            self._run(ray, tasks, on_done)
        finally:
            if self.started_here:
                ray.shutdown()

    def _run(self, ray, tasks: Sequence[FileTask], on_done: OnDone) -> None:
        variant = self.spec.variant
        data = variant.path.read_bytes()
        bundle_ref = ray.put(ModelBundle(variant.to_json(), data))
        remote = ray.remote(
            num_cpus=self.spec.threads or 1,
            num_gpus=self.gpus_per_task,
            max_retries=self.max_retries,
        )(_run_ray_task)
        # the ref inside a list is not resolved for the task: a node fetches the bytes
        # only when it has no identical model on a shared path
        pending = {remote.remote(self.spec, [bundle_ref], task): task for task in tasks}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except Exception as exc:  # the worker process or node died
                outcome = TaskOutcome(task.source, False, error=f"{task.source}: {first_line(exc)}")
            on_done(outcome)


# --------------------------------------------------------------------------- driver


@dataclass
class BatchReport:
    """All outcomes, in the order tasks were given."""

    outcomes: list[TaskOutcome]
    seconds: float

    @property
    def failed(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def done(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.ok and not o.skipped]

    @property
    def skipped(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.skipped]


def settings_text(task: FileTask) -> str:
    """What of a task's work changes its outputs, as stable text (for the index key)."""
    work = task.work
    func = getattr(work, "func", work)
    keywords = getattr(work, "keywords", {})
    args = getattr(work, "args", ())
    name = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', repr(func))}"
    return repr((name, args, sorted(keywords.items()), [str(p) for p in task.outputs]))


def run_batch(
    tasks: Sequence[FileTask],
    runner: Runner,
    *,
    kind: str,
    index_path: Path | None,
    on_done: OnDone | None = None,
) -> BatchReport:
    """Skip the tasks the index lists as finished, run the rest with ``runner``, record
    each success in the index as it arrives, and return every outcome."""
    started = time.perf_counter()
    index = DoneIndex(index_path) if index_path is not None else None
    sha = runner.spec.variant.sha256
    outcomes: dict[Path, TaskOutcome] = {}
    keys: dict[Path, str] = {}
    pending: list[FileTask] = []
    for task in tasks:
        try:
            keys[task.source] = task_key(kind, task.source, settings_text(task), sha)
        except OSError as exc:
            outcome = TaskOutcome(task.source, False, error=f"{task.source}: {exc.strerror}")
            outcomes[task.source] = outcome
            if on_done is not None:
                on_done(outcome)
            continue
        if index is not None and index.is_done(keys[task.source]):
            outcome = TaskOutcome(task.source, True, skipped=True)
            outcomes[task.source] = outcome
            if on_done is not None:
                on_done(outcome)
        else:
            pending.append(task)

    def finished(outcome: TaskOutcome) -> None:
        outcomes[outcome.source] = outcome
        if outcome.ok and index is not None:
            task = next(t for t in pending if t.source == outcome.source)
            index.record(keys[outcome.source], outcome.source, task.outputs)
        if on_done is not None:
            on_done(outcome)

    if pending:
        runner.run(pending, finished)
    ordered = [outcomes[t.source] for t in tasks if t.source in outcomes]
    return BatchReport(ordered, time.perf_counter() - started)
