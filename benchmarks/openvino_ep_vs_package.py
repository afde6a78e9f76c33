"""onnxruntime-openvino 1.24.1 (OpenVINO EP) vs the openvino 2026.4.1 package on the
same ONNX files, interleaved rounds, one process. Needs onnxruntime-openvino in place of
onnxruntime (a separate environment).

    python benchmarks/openvino_ep_vs_package.py MODELS_DIR very_low_fp32,very_low_int8
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort
import openvino as ov

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("models_dir")
parser.add_argument("variants", help="comma-separated <quality>_<precision> names")
args = parser.parse_args()
models = args.models_dir
core = ov.Core()
rows = []
for name in args.variants.split(","):
    path = f"{models}/msinet_{name}.onnx"
    h, w = {"very_low": (48, 64), "medium": (120, 160), "very_high": (240, 320)}[
        name.rsplit("_", 1)[0]
    ]
    x = np.random.default_rng(0).integers(0, 255, (1, h, w, 3), dtype=np.uint8)
    try:
        ep = ort.InferenceSession(
            path,
            providers=[("OpenVINOExecutionProvider", {"device_type": "CPU", "precision": "FP32"})],
        )
        ep_err = ""
    except Exception as exc:
        ep, ep_err = None, str(exc)[:200]
    m = core.read_model(path)
    m.reshape({m.inputs[0].get_any_name(): [1, h, w, 3]})
    c = core.compile_model(
        m, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    )
    req = c.create_infer_request()
    runs = {"ov_package": lambda req=req, x=x: req.infer({0: x})}
    if ep is not None:
        runs["ort_openvino_ep"] = lambda ep=ep, x=x: ep.run(None, {"frame_bgr": x})
    speeds = {k: [] for k in runs}
    for _ in range(3):
        for k, f in runs.items():
            f()
            n, t = 0, time.perf_counter()
            while n < 2 or time.perf_counter() - t < 1.0:
                f()
                n += 1
            speeds[k].append(n / (time.perf_counter() - t))
    row = {
        "model": name,
        **{k: round(float(np.median(v)), 2) for k, v in speeds.items()},
        "ep_error": ep_err,
        "ep_providers": ep.get_providers() if ep else None,
    }
    print(json.dumps(row), flush=True)
    rows.append(row)
