"""``saliency-cam evaluate`` as a job: the choices the command takes, as one
:class:`EvaluateRequest`, turned into a report by :func:`run_evaluate` — the files checked
and matched, each model's maps made (read from a predictions folder, made here by one
session, or made by ``--workers``/``--ray`` into a scratch folder through
:func:`~saliency_cam.realtime.apps.jobs.run_jobs`) and scored by
:func:`~saliency_cam.realtime.evaluate.run.score_maps`, the path ``saliency_cam.evaluate``
takes too. Several models: each scored and timed, one comparison. The CLI only parses
the options into the request and prints the result (an :class:`EvaluateReporter` shows
the progress).

>>> request = EvaluateRequest(stimuli=Path("images"), fixations=Path("fix"),
...                           models=("low", "itti"))                  # doctest: +SKIP
>>> result = run_evaluate(request)                                     # doctest: +SKIP
>>> [(row.name, row.fps > 0) for row in result.rows]                   # doctest: +SKIP
[('low', True), ('itti@...', True)]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saliency_cam.models.atomic import check_writable
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.batch.runner import SessionOptions
from saliency_cam.realtime.apps.jobs import HERE, ModelRequest, Scale
from saliency_cam.realtime.evaluate.run import PREDICTIONS, MapSource, score_maps, session_maps
from saliency_cam.realtime.evaluate.scoring import DEFAULT_STRIP
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

#: Raised when a model is chosen for a predictions folder (there is nothing to run).
STIMULI_ONLY = "--quality/--dataset/--model choose the model for --stimuli only"

#: ``update(done, name)``: how many steps are done, and the file just done.
Update = Callable[[int, str], None]


@dataclass(frozen=True)
class EvaluateRequest:
    """What to score, as ``saliency-cam evaluate`` takes it: the ``predictions`` folder
    or the ``stimuli`` with the ``models`` to run on them (names as ``--model`` takes
    them; one: its report; several: a comparison; none: the default quality), the
    ground truth (``fixations``, ``maps``, matched by name less the ``strip`` endings),
    the model options, where the maps are made (``scale``: here or on workers), the
    scoring options and the report files (checked before any work, written by
    :meth:`EvaluateResult.write`)."""

    stimuli: Path | None = None
    predictions: Path | None = None
    fixations: Path | None = None
    maps: Path | None = None
    models: tuple[str, ...] = ()
    precision: str = "auto"
    models_dir: Path | None = None
    session: SessionOptions = field(default_factory=lambda: SessionOptions(mode="latency"))
    scale: Scale = HERE
    metrics: Sequence[str] | None = None
    baseline: str = "center"
    seed: int = 0
    splits: int = 100
    others: int = 10
    strip: tuple[str, ...] = DEFAULT_STRIP
    csv: Path | None = None
    json: Path | None = None
    markdown: Path | None = None
    plot: Path | None = None

    @property
    def reports(self) -> dict[str, Path | None]:
        """The report files by option name (``--csv`` …), given or not."""
        return {
            "--csv": self.csv,
            "--json": self.json,
            "--markdown": self.markdown,
            "--plot": self.plot,
        }

    @property
    def names(self) -> tuple[str, ...]:
        """The models run on the stimuli (none for a predictions folder)."""
        if self.predictions is not None:
            return ()
        return self.models or (DEFAULT_QUALITY,)

    def model(self, name: str) -> ModelRequest:
        """Model ``name`` with this request's model options."""
        return ModelRequest(name, self.precision, self.models_dir, self.session)

    def scoring_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`score_maps`."""
        return {
            "metric_names": None if self.metrics is None else list(self.metrics),
            "baseline": self.baseline,
            "seed": self.seed,
            "n_splits": self.splits,
            "n_others": self.others,
        }


class EvaluateReporter:
    """What the job shows while it runs (the CLI's lines and bars); this one shows
    nothing."""

    def model(self, label: str) -> None:
        """A comparison's next model, by ``label``, before it is scored."""

    def untrained(self) -> None:
        """The model has seeded random weights: its scores say nothing."""

    def workers(self, runner: Any) -> None:
        """The maps are made by ``runner`` (its model and where it runs)."""

    @contextlib.contextmanager
    def steps(self, description: str, total: int) -> Iterator[Update]:
        """Around ``total`` steps (``predicting``, ``evaluating``): yields the update."""
        yield lambda done, name: None


@dataclass
class EvaluateResult:
    """What :func:`run_evaluate` came to: the ``report`` of the one model (or of the
    predictions folder), or the comparison ``rows`` of several models."""

    request: EvaluateRequest
    report: Any = None
    rows: list[Any] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        """True for several models (``rows``), False for one report."""
        return self.report is None

    def write(self) -> list[Path]:
        """Write the report files the request names; return the paths written."""
        request = self.request
        if self.compared:
            from saliency_cam.realtime.evaluate.compare import write_comparison

            return write_comparison(
                self.rows,
                csv_path=request.csv,
                json_path=request.json,
                markdown=request.markdown,
                plot_path=request.plot,
            )
        from saliency_cam.realtime.evaluate.report import write_reports

        return write_reports(
            self.report, csv=request.csv, json=request.json, markdown=request.markdown
        )


def run_evaluate(
    request: EvaluateRequest, reporter: EvaluateReporter | None = None
) -> EvaluateResult:
    """Check the request, match the files, score each model (see the module); returns
    the result, nothing written yet. Raises :class:`SaliencyCamError` for a request that
    cannot run (before any model opens)."""
    reporter = reporter or EvaluateReporter()
    matching = check_request(request)
    names = request.names
    if len(names) > 1:
        return EvaluateResult(request, rows=_compare(request, matching, names, reporter))
    if request.plot is not None:
        raise SaliencyCamError("--plot draws the comparison of several --model: give two or more")
    model = names[0] if names else None
    report, _ = _score(request, matching, model, reporter, speed=False)
    report.settings.update({"source": "stimuli" if model else "predictions"})
    return EvaluateResult(request, report=report)


def check_request(request: EvaluateRequest) -> Any:
    """The checks that need no model, in the command's order (models for a predictions
    folder, the report files, the folders, the baseline); returns the matching."""
    from saliency_cam.realtime.evaluate import scoring as ev

    if request.predictions is not None and request.models:
        raise SaliencyCamError(STIMULI_ONLY)
    given = [p for p in request.reports.values() if p is not None]
    inputs = [request.predictions, request.stimuli, request.fixations, request.maps]
    _check_outputs(given, [p.resolve() for p in inputs if p is not None])
    for option, path in request.reports.items():
        if path is not None:  # fail now, not after all the scoring
            check_writable(path, option)
    matching = ev.match_folders(
        predictions=request.predictions,
        stimuli=request.stimuli,
        fixations=request.fixations,
        maps=request.maps,
        strip=tuple(request.strip) if request.strip else ev.DEFAULT_STRIP,
    )
    if request.baseline not in ev.BASELINES:
        raise SaliencyCamError(
            f"unknown --baseline {request.baseline!r}: choose {', '.join(ev.BASELINES)}"
        )
    return matching


def _check_outputs(outputs: list[Path], inputs: list[Path]) -> None:
    """Refuse to overwrite an input or to write two outputs to one file."""
    resolved = [p.resolve() for p in outputs]
    if len(set(resolved)) != len(resolved):
        raise SaliencyCamError("--csv, --json and --markdown must name different files")
    for out in resolved:
        for folder in inputs:
            if out == folder or folder in out.parents:
                raise SaliencyCamError(
                    f"{out} is inside the input folder {folder}: write results elsewhere "
                    "(inputs are never overwritten, and a results file there would be "
                    "picked up as data next time)"
                )


def _compare(
    request: EvaluateRequest, matching: Any, names: Sequence[str], reporter: EvaluateReporter
) -> list[Any]:
    """Several models: each scored and timed, one comparison row each."""
    from saliency_cam.realtime.evaluate.compare import ComparisonRow

    rows = []
    for name in names:
        reporter.model(name)
        report, fps = _score(request, matching, name, reporter)
        report.settings.update({"source": "stimuli"})
        rows.append(ComparisonRow(name, report, fps))
    return rows


def _score(
    request: EvaluateRequest,
    matching: Any,
    name: str | None,
    reporter: EvaluateReporter,
    speed: bool = True,
) -> tuple[Any, float]:
    """Model ``name``'s report (None: the predictions folder's), its maps made here or on
    the workers, and, when ``speed``, its maps per second at its preset size (one
    session, measured after the scoring; NaN otherwise)."""
    from saliency_cam.realtime.evaluate.compare import measure_fps

    with contextlib.ExitStack() as stack:
        source, session = _map_source(request, matching, name, reporter, stack)
        with reporter.steps("evaluating", len(matching.items)) as update:
            report = score_maps(
                matching,
                source,
                progress=lambda done, total, key: update(done, key),
                **request.scoring_options(),
            )
    if not speed or session is None:
        return report, float("nan")
    # the workers made the maps: then one session here, for the speed
    return report, measure_fps(session())


def _map_source(
    request: EvaluateRequest,
    matching: Any,
    name: str | None,
    reporter: EvaluateReporter,
    stack: contextlib.ExitStack,
) -> tuple[MapSource, Callable[[], Any] | None]:
    """``(maps, session)`` for the scoring: the predictions folder read, the maps made by
    the workers into a scratch folder (removed when ``stack`` closes), or a session here;
    ``session()`` gives the model's session (for the speed), None for predictions."""
    scale = request.scale
    if name is None:
        if scale.parallel:
            raise SaliencyCamError("--workers/--ray compute maps for --stimuli only")
        return PREDICTIONS, None
    if scale.parallel:
        runner = scale.runner(request.model(name))
        if not runner.spec.variant.trained:
            reporter.untrained()
        scratch = stack.enter_context(_scratch_folder(list(request.reports.values())))
        return _parallel_maps(matching, runner, scratch, reporter), runner.spec.open
    session = _open_here(request, name)
    source = session_maps(session)
    if source.model is not None and not source.model["trained"]:
        reporter.untrained()
    return source, lambda: session


def _open_here(request: EvaluateRequest, name: str) -> Any:
    """The session that makes the maps in this process, with every model option."""
    from saliency_cam.realtime.runtime.session import open_session

    options = request.session
    return open_session(
        name,
        request.precision,
        options.device,
        request.models_dir,
        threads=options.threads,
        backend=options.backend,
        aspect=options.aspect,
        mode=options.mode,
    )


@contextlib.contextmanager
def _scratch_folder(reports: list[Path | None]) -> Iterator[Path]:
    """A hidden scratch folder for the maps, next to the first report file (a path the
    Ray workers share with this driver, like every output), else in the runtime cache;
    removed afterwards, also on errors and Ctrl-C."""
    import shutil
    import tempfile

    from saliency_cam.models.paths import runtime_cache_dir

    given = [p for p in reports if p is not None]
    root = given[0].resolve().parent if given else runtime_cache_dir() / "evaluate"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".saliency-cam-maps-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _parallel_maps(matching: Any, runner: Any, folder: Path, reporter: EvaluateReporter):
    """The maps of every matched stimulus through the batch runner, as the source for
    the joint scoring, with the model entry the workers reported."""
    from saliency_cam.realtime.apps.batch.maps import predict_maps
    from saliency_cam.realtime.evaluate.scoring import stored_predictor

    sources = [item.source for item in matching.items]
    reporter.workers(runner)
    with reporter.steps("predicting", len(sources)) as update:
        done = 0

        def finished(outcome: Any) -> None:
            nonlocal done
            done += 1
            update(done, outcome.source.name)

        stored = predict_maps(sources, runner, folder, on_done=finished)
    model = stored.model or _spec_model(runner.spec)
    return MapSource(stored_predictor(stored.maps, stored.errors), model)


def _spec_model(spec: Any) -> dict[str, Any]:
    """The model entry when no worker produced a map (every stimulus failed)."""
    return {**spec.variant.describe(), "backend": spec.options.backend}
