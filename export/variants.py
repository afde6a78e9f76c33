"""Export several presets in one go: idempotent, atomic, with progress.

* Idempotent: a variant whose manifest entry names the same weights (source, revision,
  origin, dataset) at the same size, and whose file still has the recorded sha256, is
  skipped; anything else (new weights, damaged or missing file, ``force``) is exported.
* Atomic: each ONNX file is written under a temp name and renamed, then the manifest is
  saved the same way (see :func:`saliency_cam.export.onnx_export.export_variant`); an
  interrupted run leaves the previous good files and manifest as they were.
* Everything the user asked for is validated (names, weight sources, precisions) before
  anything is read or written, so a typo changes nothing on disk.

>>> export_presets(["very_low", "low"], "random", models_dir="models")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.cost import Cost, measure_cost
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import (
    PRECISIONS,
    Manifest,
    VariantInfo,
    folder_lock,
    sha256_file,
)
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import (
    DATASET_PRESETS,
    QUALITY_ORDER,
    Preset,
    resolve_dataset,
    resolve_quality,
    user_presets,
)

#: Fields of the manifest's ``weights`` entry that identify the weights exported.
WEIGHT_IDENTITY: tuple[str, ...] = ("source", "revision", "origin", "dataset")

QuantizeFn = Callable[[VariantInfo, str, Path], VariantInfo]


def resolve_presets(
    qualities: Iterable[str | Preset] | None = None, datasets: Iterable[str] | None = None
) -> list[Preset]:
    """Quality and dataset presets by name, in order, without repeats (``Preset``
    objects among ``qualities`` pass through, whatever their kind).

    ``all`` (alone or among others) means every preset of that kind; comma-separated
    lists work too. Nothing given at all means the five quality presets. Unknown names
    raise :class:`SaliencyCamError` listing the valid ones.
    """
    qualities = list(qualities or [])
    datasets = list(datasets or [])
    if not qualities and not datasets:
        qualities = ["all"]
    out: dict[str, Preset] = {}
    for item in qualities:
        if isinstance(item, Preset):
            out[item.name] = item
            continue
        for name in _split(item):
            names = QUALITY_ORDER if name.lower() == "all" else [name]
            out.update((p.name, p) for p in map(resolve_quality, names))
    for item in datasets:
        for name in _split(item):
            names = list(DATASET_PRESETS) if name.lower() == "all" else [name]
            out.update((p.name, p) for p in map(resolve_dataset, names))
    return list(out.values())


def with_user_models(
    presets: Sequence[str | Preset] | None, models_dir: str | os.PathLike[str]
) -> list[str | Preset] | None:
    """``presets`` with the names of user models (``saliency-cam train --name``) in
    ``models_dir`` replaced by their presets, so they export like built-in ones."""
    if presets is None:
        return None
    users = user_presets(models_dir)
    out: list[str | Preset] = []
    for item in presets:
        if isinstance(item, str):
            out.extend(users.get(name, name) for name in _split(item))
        else:
            out.append(item)
    return out


def user_model_origin(dataset: str) -> str:
    """The ``origin`` recorded for a user model's weights (trained on ``dataset``)."""
    return f"saliency-cam train ({dataset or 'own data'})"


def user_weights_file(models_dir: str | os.PathLike[str], name: str) -> Path:
    """A user model's trained weights (``<models dir>/<its folder>/NAME.weights.h5``,
    kept by ``saliency-cam train``): what its ONNX variants are exported from."""
    directory = Path(models_dir)
    model = Manifest.load(directory).user_models.get(name)
    path = directory / (model.folder if model else f"user/{name}") / f"{name}.weights.h5"
    if not path.is_file():
        raise SaliencyCamError(
            f"user model {name!r} has no weights file {path}: train it again with "
            f"saliency-cam train DATA --name {name} --replace"
        )
    return path


def _split(item: str) -> list[str]:
    return [part for part in (p.strip() for p in item.split(",")) if part]


def source_for(preset: Preset, source: str | None) -> str:
    """The weight source for ``preset``: ``source`` or the preset's default; an error if
    that source does not publish weights for this preset."""
    chosen = source or preset.default_source
    if chosen in preset.sources:
        return chosen
    hint = ""
    if chosen == "pb" and preset.kind == "quality":
        hint = " (the .pb graphs are the dataset models: use --dataset salicon, mit1003, …)"
    raise SaliencyCamError(
        f"weight source {chosen!r} is not available for {preset.name}{hint}: "
        f"use one of {', '.join(preset.sources)}"
    )


def quantizer(precision: str) -> QuantizeFn:
    """``saliency_cam.export.quantize.quantize_variant`` for a non-fp32 precision, or a
    clear error if that module is not part of this installation."""
    if precision not in PRECISIONS:
        raise SaliencyCamError(
            f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}"
        )
    from saliency_cam.export.quantize import quantize_variant  # onnx, onnxruntime: lazily

    return quantize_variant


def stale_reason(
    info: VariantInfo | None, preset: Preset, loaded: LoadedWeights, *, force: bool = False
) -> str | None:
    """Why ``info`` must be (re-)exported, or None when it is up to date."""
    if force:
        return "forced"
    if info is None:
        return "new"
    if (info.height, info.width) != preset.size:
        return "size changed"
    wanted = loaded.describe()
    if any(info.weights.get(k) != wanted.get(k) for k in WEIGHT_IDENTITY):
        return "weights changed"
    if not info.path.is_file():
        return "file missing"
    if sha256_file(info.path) != info.sha256:
        return "file changed"
    return None


def derived_stale_reason(
    info: VariantInfo | None,
    fp32: VariantInfo,
    preset: Preset,
    loaded: LoadedWeights,
    *,
    force: bool = False,
) -> str | None:
    """Like :func:`stale_reason` for an fp16/int8 variant, which is also stale when it
    was derived from another fp32 file than the current one."""
    reason = stale_reason(info, preset, loaded, force=force)
    if reason is None and info is not None:
        base = info.exporter.get("derived_from_sha256")
        if base and base != fp32.sha256:
            return "fp32 changed"
    return reason


def export_presets(
    presets: Sequence[str | Preset] | None,
    source: str | None = None,
    weights_path: str | os.PathLike[str] | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    dataset: str | Sequence[str] | None = None,
    force: bool = False,
    progress: bool = True,
    *,
    seed: int = 0,
    precisions: Sequence[str] = ("fp32",),
    console: Any = None,
) -> list[VariantInfo]:
    """Export ``presets`` (quality names, ``all``; plus the dataset presets in
    ``dataset``) from weight ``source`` (None: each preset's default) into
    ``models_dir`` (None: ``$SALIENCY_CAM_MODELS_DIR`` or the user cache).

    Returns the manifest entries of every requested variant, skipped or exported, in
    order. ``precisions`` other than fp32 are derived from the fp32 variant by
    ``saliency_cam.export.quantize``. ``progress`` shows a rich progress bar and one
    line per variant on stderr (or ``console``).
    """
    datasets = [dataset] if isinstance(dataset, str) else list(dataset or [])
    directory = resolve_models_dir(models_dir)
    Manifest.load(directory)  # a damaged manifest is reported before any work
    chosen = resolve_presets(with_user_models(presets, directory), datasets)
    plan = [(preset, source_for(preset, source)) for preset in chosen]
    precisions = list(dict.fromkeys(precisions)) or ["fp32"]
    quantizers = {p: quantizer(p) for p in precisions if p != "fp32"}

    cache: dict[tuple[str, str], LoadedWeights] = {}
    results: list[VariantInfo] = []
    with _Progress(progress, len(plan) * len(precisions), console) as bar:
        for preset, src in plan:
            loaded = _weights_for(preset, src, weights_path, directory, cache, bar, seed)
            info = _export_fp32(preset, loaded, directory, bar, force)
            if "fp32" in precisions:
                results.append(info)
            for precision, quantize in quantizers.items():
                results.append(
                    _derive(preset, loaded, info, precision, quantize, directory, bar, force)
                )
    return results


def _weights_for(
    preset: Preset,
    src: str,
    weights_path: str | os.PathLike[str] | None,
    directory: Path,
    cache: dict[tuple[str, str], LoadedWeights],
    bar: _Progress,
    seed: int,
) -> LoadedWeights:
    """``preset``'s weights from ``src``, read once per run for every preset they serve
    (``cache``). A user model reads its own ``.weights.h5`` from the models folder."""
    from saliency_cam.export.readers import read_weights

    # The same SALICON weights serve every size for hf/keras/random; TF.js has one
    # model per quality preset. A user model has weights of its own (its .weights.h5;
    # random: export/random_students.py).
    own = preset.kind == "user"
    key = (src, preset.name if src == "tfjs" or own else preset.dataset)
    if key not in cache:
        bar.step(f"{preset.name}: reading {src} weights")
        path = weights_path
        if own and path is None and src == "keras":
            path = user_weights_file(directory, preset.name)
        cache[key] = read_weights(src, preset, path, seed=seed)
        if own and src == "keras":  # as publish() recorded it: stays up to date
            trained = Manifest.load(directory).user_models.get(preset.name)
            cache[key].origin = user_model_origin(trained.dataset if trained else "")
    return cache[key]


def _export_fp32(
    preset: Preset, loaded: LoadedWeights, directory: Path, bar: _Progress, force: bool
) -> VariantInfo:
    """The fp32 variant of ``preset``: exported (timed) unless the manifest's is up to
    date with ``loaded``."""
    from saliency_cam.export.onnx_export import export_variant

    # One exporter at a time per folder: a second process waits, then finds the
    # variant up to date instead of exporting it again.
    with folder_lock(directory):
        info = Manifest.load(directory).find(preset.name, "fp32")
        reason = stale_reason(info, preset, loaded, force=force)
        if reason is None and info is not None:
            bar.done(info, "up to date, skipped")
            return info
        step = bar.prefixed(preset.name)
        with measure_cost() as cost:
            info = export_variant(preset, loaded, directory, on_step=step)
        info.cost = cost
        bar.done(info, f"exported ({reason}) in {cost.describe()}", parity=True)
    return info


def _derive(
    preset: Preset,
    loaded: LoadedWeights,
    fp32: VariantInfo,
    precision: str,
    quantize: QuantizeFn,
    directory: Path,
    bar: _Progress,
    force: bool,
) -> VariantInfo:
    """The ``precision`` variant of ``preset``, derived from its ``fp32`` one (timed)
    unless the manifest's is up to date with both."""
    done = Manifest.load(directory).find(preset.name, precision)
    derived_reason = derived_stale_reason(done, fp32, preset, loaded, force=force)
    if derived_reason is None and done is not None:
        bar.done(done, "up to date, skipped")
        return done
    bar.step(f"{preset.name}: making {precision}")
    with measure_cost() as cost:
        done = quantize(fp32, precision, directory)
    done.cost = cost
    bar.done(done, f"exported ({derived_reason}) in {cost.describe()}")
    return done


def run_summary(results: Sequence[VariantInfo], cost: Cost) -> str:
    """One line for a whole export run: how many variants were made, how many were
    already up to date, the wall time and the peak memory.

    >>> run_summary(results, cost)                   # doctest: +SKIP
    'exported 5 variants (0 up to date) in 82.1 s, peak memory 2.6 GB'
    """
    made = sum(info.cost is not None for info in results)
    return (
        f"exported {made} variant{'s' if made != 1 else ''} "
        f"({len(results) - made} up to date) in {cost.describe()}"
    )


class _Progress:
    """A rich progress bar plus one printed line per finished variant; silent when
    disabled."""

    def __init__(self, enabled: bool, total: int, console: Any = None) -> None:
        self.enabled = enabled
        self.total = total
        self.console = console
        self._progress: Any = None
        self._task: Any = None
        self._console: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console

            from saliency_cam.models.progress import progress_bar

            console = self.console or Console(stderr=True)
            self._console = console
            self._progress = progress_bar("items", console=console)  # logs get the lines only
            self._progress.__enter__()
            self._task = self._progress.add_task("export", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def step(self, message: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=message)

    def prefixed(self, name: str) -> Callable[[str], None]:
        """A step callback that prefixes messages with the preset name."""
        return lambda message: self.step(f"{name}: {message}")

    def done(self, info: VariantInfo, message: str, parity: bool = False) -> None:
        if self._progress is None:
            return
        self._progress.advance(self._task)
        extra = f", parity max |ORT-TF| {info.parity['max_abs']:.1e}" if parity else ""
        label = "" if info.trained else " [UNTRAINED]"
        self._console.print(
            f"{info.preset} {info.precision} {info.height}x{info.width}{label}: {message}{extra}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def missing_model_exporter(
    models_dir: str | os.PathLike[str] | None = None,
    say: Callable[[str], None] | None = None,
) -> Callable[[str, str], None] | None:
    """An ``on_missing`` hook for :func:`saliency_cam.open_session` that exports a missing
    variant with progress, or None when the export extra is not installed (then the
    missing-model error names the command to run).

    >>> open_session("high", on_missing=missing_model_exporter())   # doctest: +SKIP
    """
    from saliency_cam.export import missing_export_modules

    if missing_export_modules():
        return None

    def export_missing(preset: str, precision: str) -> None:
        source = weights_source_in_use(preset, models_dir)
        if say is not None:
            via = f" from the same {source} weights as the models already there" if source else ""
            say(f"{preset} {precision} is not exported yet: exporting it now{via}")
        export_presets(
            [preset], source, models_dir=models_dir, precisions=(precision,), progress=True
        )

    return export_missing


def weights_source_in_use(
    preset: str, models_dir: str | os.PathLike[str] | None = None
) -> str | None:
    """The weight source the models folder already uses: this preset's fp32 variant's,
    else the most common among its variants; None for an empty folder (then each preset's
    default source). Deriving int8 from a random-weight fp32 must not go online."""
    manifest = Manifest.load(resolve_models_dir(models_dir))
    own = manifest.find(preset, "fp32")
    if own is not None and own.weights.get("source"):
        return str(own.weights["source"])
    sources = [v.weights.get("source") for v in manifest.variants.values()]
    sources = [s for s in sources if s]
    return max(set(sources), key=sources.count) if sources else None
