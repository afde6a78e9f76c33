"""Shared pytest fixtures. Each block is owned by one part of the project; keep them
separate and marked."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# --backend auto caches its measurements per machine: keep the tests' out of the user cache
os.environ.setdefault(
    "SALIENCY_CAM_RUNTIME_CACHE", tempfile.mkdtemp(prefix="saliency-cam-runtime-cache-")
)
# Every door defaults to precision auto and backend auto (runtime/defaults.py). auto
# measures the backends and picks by speed, which differs between CPU kinds and runs:
# the suite pins both through the documented environment variables so that maps compare
# exactly everywhere; tests/test_same_defaults.py removes the pins and checks auto itself.
os.environ["SALIENCY_CAM_BACKEND"] = "onnxruntime"
os.environ["SALIENCY_CAM_PRECISION"] = "fp32"
# Test helpers (media makers, local servers, published-format writers) live in one place,
# tests/support, importable from every test folder as plain modules.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


@pytest.fixture(autouse=True)
def _release_cached_sessions():
    """The API's one-shot session cache holds the last models opened: empty it after
    each test, so a test never sees another's session and memory stays flat."""
    yield
    from saliency_cam.realtime.runtime import resolve

    resolve.clear_session_cache()


def _resident_mb() -> int:
    """This process's resident memory in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _glibc():  # -> ctypes.CDLL | None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): the allocator tuning below is skipped
        return None


_LIBC = _glibc()
if _LIBC is not None:
    # TensorFlow's thread pools each get a malloc arena of their own (8 per core); freed
    # training memory stays spread over them and the suite's one process grew past 8 GB.
    # Two arenas keep it returnable (M_ARENA_MAX = -8); set before TensorFlow starts.
    _LIBC.mallopt(-8, 2)


@pytest.fixture(autouse=True)
def _release_keras_models():
    """A test that grew the process by more than 100 MB (training, export) leaves its
    memory behind: Keras keeps its models in global state and the allocator keeps freed
    pages. Release both after such a test, so the suite stays within a few GB."""
    before = _resident_mb()
    yield
    if _resident_mb() - before < 100:
        if _LIBC is not None:  # small frees add up over hundreds of tests: hand them back
            _LIBC.malloc_trim(0)
        return
    import gc

    if "keras" in sys.modules:
        import keras

        keras.backend.clear_session()
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


# --- export fixtures (export/onnx_export.py) -------------------------------------------
#: Presets in the session's exported models directory, seeded random weights (seed 0).
TINY_PRESETS: tuple[str, ...] = ("very_low", "low")


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory with ``very_low`` and ``low`` fp32 exported from seeded random
    (UNTRAINED) weights: ``manifest.json`` + ``msinet_<preset>_fp32.onnx``. Open them with
    ``open_session(preset, models_dir=tiny_models_dir)``. Read-only: copy it (see
    ``tests/test_export.py``) before exporting into it. Built once per session (~30-50 s on
    the shared 2-core machines).
    """
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    from shared_fixtures import build_once, run_python, shared_root

    def export(directory: Path) -> None:
        run_python(_EXPORT_TINY, str(directory), *TINY_PRESETS)

    return build_once(shared_root(tmp_path_factory), "tiny_models", export)


_EXPORT_TINY = """
import sys
from pathlib import Path
from saliency_cam.export.onnx_export import export_variant
from saliency_cam.export.readers import read_weights
from saliency_cam.models.registry import resolve_quality
for name in sys.argv[2:]:
    preset = resolve_quality(name)
    export_variant(preset, read_weights("random", preset, seed=0), Path(sys.argv[1]))
"""


# --- end export fixtures ---------------------------------------------------------------


# --- quantize/bench fixtures (export/quantize.py, realtime/bench.py) --------------------
@pytest.fixture(scope="session")
def tiny_derived_dir(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``very_low`` fp32 (copied from ``tiny_models_dir``) plus its fp16 and int8
    variants made by ``quantize_variant`` (UNTRAINED). Read-only for tests."""
    import shutil

    from shared_fixtures import build_once, shared_root

    from saliency_cam.export.quantize import quantize_variant
    from saliency_cam.models.manifest import Manifest, variant_filename

    def derive(directory: Path) -> None:
        shutil.copy(tiny_models_dir / variant_filename("very_low"), directory)
        manifest = Manifest(directory)
        manifest.put(Manifest.load(tiny_models_dir).find("very_low", "fp32"))
        manifest.save()
        fp32 = Manifest.load(directory).find("very_low", "fp32")
        quantize_variant(fp32, "fp16", directory)
        quantize_variant(fp32, "int8", directory)

    return build_once(shared_root(tmp_path_factory), "tiny_derived", derive)


@pytest.fixture(scope="session")
def default_quality_models_dir(
    tiny_derived_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A models folder holding the default quality (runtime/defaults.py) in fp32, fp16 and
    int8 — the tiny random-weight graphs (any input size) recorded under the default
    preset's name and size, so precision auto has a real choice — plus very_low as
    exported. For the tests of what every door does with no options."""
    import shutil
    from dataclasses import replace

    from shared_fixtures import build_once, shared_root

    from saliency_cam.models.manifest import Manifest
    from saliency_cam.models.registry import resolve_preset
    from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

    height, width = resolve_preset(DEFAULT_QUALITY).size

    def record(directory: Path) -> None:
        source = Manifest.load(tiny_derived_dir)
        with Manifest.editing(directory) as manifest:
            for info in source.variants.values():
                if info.preset != "very_low":
                    continue
                shutil.copy2(info.path, directory / info.file)
                manifest.put(replace(info))
                manifest.put(replace(info, preset=DEFAULT_QUALITY, height=height, width=width))

    return build_once(shared_root(tmp_path_factory), "default_quality_models", record)


# --- end quantize/bench fixtures --------------------------------------------------------


# --- published-format fixtures (export/readers, tests/published_formats.py) -------------
@pytest.fixture(scope="session")
def published_files(tmp_path_factory: pytest.TempPathFactory):  # -> Iterator[PublishedFiles]
    """Every published MSI-Net form — HF SavedModel, TF.js graph model (float32, float16,
    uint8/uint16 entries over several shards), frozen graphs NHWC/NCHW (.pb and .zip) —
    written from the same seeded UNTRAINED weights, full size. Read-only: tests that
    damage files copy them first (``published_formats.copy_model_dir``). Built once per
    session (~10 s); its ~500 MB are deleted when the session ends."""
    import shutil

    pytest.importorskip("tensorflow")
    from published_formats import write_published_files

    root = tmp_path_factory.mktemp("published")
    yield write_published_files(root)
    shutil.rmtree(root, ignore_errors=True)


# --- end published-format fixtures ------------------------------------------------------


# --- Ray fixtures (realtime/apps/batch/runner.py RayRunner, the --ray commands) ---------
@pytest.fixture
def local_ray():  # -> ray module
    """A real local Ray (2 CPUs, no dashboard), started by the first test that asks for
    it and shared by the Ray tests that follow; stopped after the last of them (see
    :func:`pytest_runtest_teardown`). A command run in this process with ``--ray local``
    or ``--ray auto`` uses it as is (RayRunner joins an initialised Ray). Skips when the
    ray extra is not installed."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    return ray


def _uses_ray(item: pytest.Item | None) -> bool:
    return item is not None and "local_ray" in getattr(item, "fixturenames", ())


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop Ray once the run of Ray tests ends: its processes (~0.7 GB) are up only while
    those tests run, also when xdist sends the Ray group to a worker early."""
    if _uses_ray(item) and not _uses_ray(nextitem) and "ray" in sys.modules:
        ray = sys.modules["ray"]
        if ray.is_initialized():
            ray.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that use ``local_ray`` last, together: Ray starts once (~9 s on
    the 2-core machines). Stable: the rest keep their order."""
    items.sort(key=_uses_ray)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist (``-n 2 --dist loadgroup``, the default in pyproject.toml) the
    Ray tests form one group and the TensorFlow training/export modules another, each run
    by one worker: one Ray, and TensorFlow's GBs in one process, instead of one per
    worker. Marked as each item is collected: xdist reads the groups in its own
    collection hook, which may run before this file's."""
    if _uses_ray(item):
        item.add_marker(pytest.mark.xdist_group("ray"))
    elif _trains_or_exports(Path(str(item.fspath))):
        item.add_marker(pytest.mark.xdist_group("tensorflow"))


def _trains_or_exports(module: Path) -> bool:
    """A module under tests/export or tests/models that loads TensorFlow in-process."""
    if module.parent.name not in ("export", "models", "training"):
        return False
    text = module.read_text(encoding="utf-8")
    return any(word in text for word in ("tensorflow", "keras", "published_files"))


# --- end Ray fixtures -------------------------------------------------------------------
