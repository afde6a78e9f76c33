"""Bring your own ONNX model: check it against its declared contract, prove it with a probe
run, and register it in the models folder like every exported variant (the file copied in
with its sha256). ``saliency-cam models add`` is this function.

>>> from saliency_cam.models.contract import Contract
>>> add_model("salgan", "salgan.onnx", Contract(layout="nchw", input_range="0-1"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.contract import Contract, ContractError, check_graph, output_plane
from saliency_cam.models.errors import SaliencyCamError, first_line
from saliency_cam.models.manifest import (
    ADDED_SOURCE,
    Manifest,
    UserModel,
    VariantInfo,
    folder_lock,
    sha256_file,
)
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import check_user_model_name
from saliency_cam.realtime.runtime.backends.added import graph_io

#: Grey probe frame value (the middle of the range: any real model gives a finite map).
PROBE_VALUE = 126


def added_filename(name: str) -> str:
    """File name of an added model in the models folder, e.g. ``added_salgan.onnx``."""
    return f"added_{name}.onnx"


def probe(path: Path, contract: Contract) -> Contract:
    """Open ``path`` with onnxruntime on the CPU, check ``contract`` against the graph
    and run one grey frame through it; return the contract with its size filled in.

    Raises :class:`ContractError` (one line) naming what does not fit.
    """
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own errors: not an ONNX file, bad graph
        raise ContractError(f"cannot read {path} as an ONNX model: {first_line(exc)}") from exc
    contract, dtype = check_graph(contract, *graph_io(session))
    assert contract.size is not None  # check_graph fills it in
    frame = np.full((1, *contract.size, 3), PROBE_VALUE, np.uint8)
    try:
        output = session.run(
            None, {session.get_inputs()[0].name: contract.preprocess(frame, dtype)}
        )
    except Exception as exc:
        raise ContractError(f"the probe run failed: {first_line(exc)}") from exc
    raw = np.asarray(output[0])
    if not np.issubdtype(raw.dtype, np.floating):
        raise ContractError(f"the graph's output is {raw.dtype}: expected a float map")
    plane = output_plane(raw)
    if min(plane.shape) < 2:
        raise ContractError(f"the probe's output {list(raw.shape)} is not a map (under 2 pixels)")
    if not np.isfinite(contract.postprocess(raw, contract.size)).all():
        raise ContractError("the probe run's output has NaN or infinite values")
    return contract


def add_model(
    name: str,
    file: str | os.PathLike[str],
    contract: Contract | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    *,
    replace: bool = False,
) -> VariantInfo:
    """Register ONNX ``file`` as model ``name`` (then ``--model NAME`` everywhere).

    The contract is checked against the graph and proven by a probe run before anything
    is written; the file is copied into the models folder (``added_NAME.onnx``) with its
    sha256 recorded in the manifest. An existing name needs ``replace=True``.
    """
    name = check_user_model_name(name)
    source = Path(file)
    if not source.is_file():
        raise SaliencyCamError(f"{source}: no such ONNX file")
    directory = resolve_models_dir(models_dir)
    checked = probe(source, contract or Contract())
    assert checked.size is not None
    with folder_lock(directory):
        manifest = Manifest.load(directory)
        if not replace and (name in manifest.user_models or manifest.find(name) is not None):
            raise SaliencyCamError(
                f"a model named {name!r} already exists in {directory}: "
                "choose another name or pass --replace"
            )
        target = directory / added_filename(name)
        with atomic_output(target) as tmp:
            shutil.copyfile(source, tmp)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        info = VariantInfo(
            preset=name,
            precision="fp32",
            height=checked.size[0],
            width=checked.size[1],
            file=target.name,
            sha256=sha256_file(target),
            weights={"source": ADDED_SOURCE, "trained": True, "file": source.name},
            opset=_opset(target),
            contract=checked.to_json(),
            note=f"added from {source.name}",
            created=created,
        )
        manifest.put(info)
        manifest.put_user_model(
            UserModel(
                name=name,
                height=checked.size[0],
                width=checked.size[1],
                description=f"your ONNX model ({source.name})",
                created=created,
            )
        )
        manifest.save()
    return info


def _opset(path: Path) -> int:
    """The default-domain opset of an ONNX file (0 when it declares none)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
