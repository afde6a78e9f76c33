"""Prometheus text exposition (format 0.0.4) without a client library: counters,
gauges and histograms with labels, rendered on ``GET /metrics``.

>>> m = Metrics()
>>> m.inc("saliency_requests_total", route="/v1/saliency", status="200")
>>> "saliency_requests_total" in m.render()
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

#: Latency buckets in seconds (a 48x64 CPU run is ~5 ms, a 240x320 one ~150 ms).
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32)

#: name -> (type, help). Only declared metrics can be recorded (typos fail loudly).
DECLARED: dict[str, tuple[str, str]] = {
    "saliency_requests_total": ("counter", "HTTP requests answered, by route and status"),
    "saliency_request_seconds": ("histogram", "HTTP request latency, by route"),
    "saliency_inference_queue_depth": ("gauge", "inputs waiting for a model run, by model"),
    "saliency_batch_runs_total": ("counter", "model runs by the batcher, by model"),
    "saliency_batch_items_total": ("counter", "inputs those runs processed, by model"),
    "saliency_batch_size": ("histogram", "inputs per model run, by model"),
    "saliency_model_loads_total": ("counter", "models loaded, by model"),
    "saliency_model_load_seconds": ("gauge", "seconds the last load of a model took"),
    "saliency_models_loaded": ("gauge", "models held in memory"),
    "saliency_live_connections": ("gauge", "open live WebSocket connections"),
    "saliency_live_connections_total": ("counter", "live WebSocket connections accepted"),
    "saliency_live_frames_total": ("counter", "live frames answered, by model"),
    "saliency_live_dropped_total": ("counter", "live frames replaced by a newer one unprocessed"),
    "saliency_live_frame_errors_total": ("counter", "live frames answered with an error"),
    "saliency_pixels_in_flight": (
        "gauge",
        "decoded pixels of image requests and live frames being worked on (held) and the "
        "most at once (peak)",
    ),
    "saliency_video_jobs": ("gauge", "video jobs, by state"),
    "saliency_video_jobs_total": ("counter", "video jobs finished, by final state"),
}


def _labels(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _format_labels(labels: tuple[tuple[str, str], ...], extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        for i, edge in enumerate(self.buckets):
            if value <= edge:
                self.counts[i] += 1
        self.total += value
        self.count += 1


class Metrics:
    """Thread-safe metric store. Gauges may also be callbacks read at render time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self._histograms: dict[str, dict[tuple[tuple[str, str], ...], _Histogram]] = {}
        self._callbacks: dict[str, Callable[[], dict[tuple[tuple[str, str], ...], float]]] = {}

    def _check(self, name: str, kind: str) -> None:
        declared = DECLARED.get(name)
        if declared is None or declared[0] != kind:
            raise KeyError(f"metric {name} is not a declared {kind}")

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add ``value`` to a counter."""
        self._check(name, "counter")
        key = _labels(labels)
        with self._lock:
            series = self._values.setdefault(name, {})
            series[key] = series.get(key, 0.0) + value

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        self._check(name, "gauge")
        with self._lock:
            self._values.setdefault(name, {})[_labels(labels)] = value

    def gauge_callback(self, name: str, read: Callable[[], dict[str, float]], label: str) -> None:
        """A gauge computed at render time: ``read()`` → ``{label value: gauge value}``."""
        self._check(name, "gauge")
        self._callbacks[name] = lambda: {((label, k),): v for k, v in read().items()}

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record one observation in a histogram."""
        self._check(name, "histogram")
        buckets = BATCH_BUCKETS if name == "saliency_batch_size" else LATENCY_BUCKETS
        with self._lock:
            series = self._histograms.setdefault(name, {})
            series.setdefault(_labels(labels), _Histogram(buckets)).observe(value)

    def value(self, name: str, **labels: str) -> float:
        """Current value of a counter or gauge series (0 when never set)."""
        with self._lock:
            return self._values.get(name, {}).get(_labels(labels), 0.0)

    def render(self) -> str:
        """All metrics in the Prometheus text format."""
        lines: list[str] = []
        with self._lock:
            values = {n: dict(s) for n, s in self._values.items()}
            histograms = {n: dict(s) for n, s in self._histograms.items()}
        for name, read in self._callbacks.items():
            values.setdefault(name, {}).update(read())
        for name, (kind, help_text) in DECLARED.items():
            if name not in values and name not in histograms:
                continue
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            for key, value in sorted(values.get(name, {}).items()):
                lines.append(f"{name}{_format_labels(key)} {value:g}")
            for key, hist in sorted(histograms.get(name, {}).items()):
                for edge, count in zip(hist.buckets, hist.counts, strict=True):
                    bucket = _format_labels(key, 'le="' + f"{edge:g}" + '"')
                    lines.append(f"{name}_bucket{bucket} {count}")
                top = _format_labels(key, 'le="+Inf"')
                lines.append(f"{name}_bucket{top} {hist.count}")
                lines.append(f"{name}_sum{_format_labels(key)} {hist.total:g}")
                lines.append(f"{name}_count{_format_labels(key)} {hist.count}")
        return "\n".join(lines) + "\n"
