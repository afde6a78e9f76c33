"""Two processes writing one models folder's manifest never lose each other's entries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from saliency_cam.models.manifest import Manifest

WRITER = """
import sys, time
from pathlib import Path
from saliency_cam.models.manifest import Manifest, VariantInfo
folder, tag = Path(sys.argv[1]), sys.argv[2]
for i in range(25):
    with Manifest.editing(folder) as manifest:
        time.sleep(0.002)  # widen the read-modify-write window
        manifest.put(VariantInfo(preset=f"{tag}{i}", precision="fp32", height=48, width=64,
                                 file=f"{tag}{i}.onnx", sha256="0" * 64, weights={}, opset=17))
"""


def test_concurrent_writers_keep_every_entry(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag]) for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    presets = {info.preset for info in Manifest.load(tmp_path).variants.values()}
    assert presets == {f"{tag}{i}" for tag in "ab" for i in range(25)}
