"""Which variant a model name means, before any session opens: the manifest entry of an
exported variant, the computed variant of a classical model, the one variant of an added
ONNX model, and the export command to print when a variant is missing.

>>> find_variant("medium", "int8").precision             # doctest: +SKIP
'int8'
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from saliency_cam.models.errors import ModelNotFoundError, SaliencyCamError
from saliency_cam.models.install import EXPORT_MODULES, install_command, missing_modules
from saliency_cam.models.manifest import BUILTIN_SOURCE, Manifest, VariantInfo
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import Preset, resolve_preset


def export_hint(
    preset: str, precision: str = "fp32", models_dir: str | os.PathLike[str] | None = None
) -> str:
    """The command that makes a missing variant (a user model's from its stored weights)
    in ``models_dir``: ``--models-dir`` is named unless that is the default folder
    (``$SALIENCY_CAM_MODELS_DIR`` or the user cache), where export writes anyway."""
    extra = "" if precision == "fp32" else f" --precision {precision}"
    if models_dir is not None and Path(models_dir) != resolve_models_dir(None):
        extra += f" --models-dir {_shell_word(str(models_dir))}"
    try:
        kind = resolve_preset(preset, models_dir).kind
    except SaliencyCamError:
        kind = "quality"
    if kind == "user":
        return f"saliency-cam export --model {preset}{extra}"
    option = "--dataset" if kind == "dataset" else "--quality"
    return f"saliency-cam export {option} {preset}{extra}"


def _shell_word(text: str) -> str:
    """``text`` as one shell word, in double quotes where it needs quoting: hints print
    commands inside single quotes (``run '...'``), which shlex's own quotes would end."""
    if shlex.quote(text) == text:
        return text
    return '"' + "".join("\\" + c if c in '"$`\\' else c for c in text) + '"'


def find_variant(
    preset: str, precision: str = "fp32", models_dir: str | os.PathLike[str] | None = None
) -> VariantInfo:
    """The manifest entry for ``preset``/``precision``, or a clear error naming the
    export command to run (and the export extra's install command when it is missing)."""
    directory = resolve_models_dir(models_dir)
    found = resolve_preset(preset, directory)
    if found.kind == "baseline":
        return baseline_variant(found, precision, directory)
    name = found.name
    info = Manifest.load(directory).find(name, precision)
    if info is None or not info.path.exists():
        hint = export_hint(name, precision, directory)
        missing = missing_modules(EXPORT_MODULES)
        needs = (
            f" (needs the export extra, {', '.join(missing)} not installed: "
            f"{install_command('export')})"
            if missing
            else ""
        )
        raise ModelNotFoundError(f"no {name} {precision} model in {directory}: run '{hint}'{needs}")
    return info


def baseline_variant(preset: Preset, precision: str, directory: os.PathLike[str]) -> VariantInfo:
    """The variant of a classical model: computed in code, one precision, nothing on disk
    (``sha256`` names the algorithm so that ``--workers`` indexes key on it)."""
    if precision not in ("fp32", "auto"):
        raise SaliencyCamError(
            f"{preset.name} is a classical model computed in float32: it has no "
            f"{precision} variant (leave --precision out)"
        )
    algorithm = preset.name.partition("@")[0]
    return VariantInfo(
        preset=preset.name,
        precision="fp32",
        height=preset.height,
        width=preset.width,
        file="",
        sha256=f"{BUILTIN_SOURCE}-{algorithm}",
        weights={"source": BUILTIN_SOURCE, "trained": True, "algorithm": algorithm},
        opset=0,
        note=preset.description,
        directory=Path(directory),
    )


def redo_hint(variant: VariantInfo) -> str:
    """What to run to make a variant's file again."""
    if variant.contract:
        return f"add it again with 'saliency-cam models add {variant.preset} FILE.onnx --replace'"
    return f"run '{export_hint(variant.preset, variant.precision, variant.directory)} --force'"


def is_direct(variant: VariantInfo) -> bool:
    """True for models that run one way only (classical, or an added ONNX file under its
    contract): no precision or backend to choose."""
    return variant.builtin or bool(variant.contract)


def direct_variant(
    name: str, precision: str, models_dir: str | os.PathLike[str] | None
) -> VariantInfo | None:
    """The variant of a classical or added model called ``name`` (None for the others)."""
    directory = resolve_models_dir(models_dir)
    try:
        preset = resolve_preset(name, directory)
    except SaliencyCamError:
        return None  # the ordinary path raises the error that lists every name
    if preset.kind == "baseline":
        return baseline_variant(preset, precision, directory)
    if preset.kind != "user":
        return None
    manifest = Manifest.load(directory)
    info = manifest.find(preset.name, "fp32")
    if info is None or not info.contract:
        return None
    if precision not in ("fp32", "auto"):
        raise SaliencyCamError(
            f"{preset.name} is an added ONNX model: it has one variant, fp32 "
            "(leave --precision out)"
        )
    if not info.path.exists():
        raise ModelNotFoundError(
            f"the file of added model {preset.name} is missing from {directory}: "
            f"add it again with 'saliency-cam models add {preset.name} FILE.onnx'"
        )
    return info
