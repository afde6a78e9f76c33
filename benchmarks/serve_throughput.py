"""Throughput of ``saliency-cam serve``'s API with and without dynamic batching, and the
live page's round-trip FPS in headless Chromium, against the engine's own inference-only
FPS on the same machine.

For each ``--max-batch`` value a real server is started on a free 127.0.0.1 port (in this
process); ``--requests`` ``POST /v1/saliency`` calls (a 320×240 JPEG, 8-bit PNG answer)
are sent from 1 and from ``--clients`` concurrent clients, each with its own keep-alive
connection. Recorded per run: requests/s, latency p50/p90/p99, errors, model runs and
inputs per run (from the batcher), process RSS before/after and files left in the
server's temp dir. ``infer_fps`` is ``session.predict`` alone on the same picture, timed
before and after (shared machines drift).

``--live`` also opens the live page in headless Chromium (Debian ``chromium`` +
``chromium-driver``) with a fake camera fed from a generated clip and reads its FPS and
round-trip latency after ``--live-seconds`` at each ``--live-qualities``.

Models: ``--models-dir`` with exported variants (random weights run as fast as trained).

    python benchmarks/serve_throughput.py --models-dir DIR --quality very_low
    python benchmarks/serve_throughput.py --models-dir DIR --live --live-qualities very_low medium

Writes ``benchmarks/results/serve_throughput_cpu.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def test_jpeg() -> bytes:
    from PIL import Image

    yy, xx = np.mgrid[0:240, 0:320]
    picture = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    picture[80:160, 120:200] = 255
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def infer_fps(quality: str, models_dir: Path, seconds: float = 3.0) -> float:
    from saliency_cam import open_session
    from saliency_cam.realtime.io.images import decode_image

    session = open_session(quality, models_dir=models_dir)
    image = decode_image(test_jpeg(), "bench.jpg")
    for _ in range(3):
        session.predict(image)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        session.predict(image)
        count += 1
    return count / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def load(url: str, requests: int, clients: int) -> dict:
    import httpx

    data = test_jpeg()
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    per_client = [requests // clients + (i < requests % clients) for i in range(clients)]

    def client(count: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            for _ in range(count):
                started = time.perf_counter()
                reply = http.post("/v1/saliency", files={"file": ("bench.jpg", data)})
                took = time.perf_counter() - started
                with lock:
                    (
                        latencies.append(took)
                        if reply.status_code == 200
                        else errors.append(reply.status_code)
                    )

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, per_client))
    seconds = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": requests,
        "errors": len(errors),
        "seconds": round(seconds, 3),
        "requests_per_s": round(len(latencies) / seconds, 2),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p90": round(percentile(latencies, 90) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
        },
    }


def api_runs(args: argparse.Namespace) -> list[dict]:
    from saliency_cam.realtime.apps.serve import ServeConfig, running_server

    rows = []
    for max_batch in args.max_batch:
        config = ServeConfig(quality=args.quality, models_dir=args.models_dir, max_batch=max_batch)
        with running_server(config) as server:
            engine = server.app.state.engine
            session = engine.session()
            load(server.url, 20, 2)  # warm up: threads, connections, allocator
            for clients in (1, args.clients):
                batcher = engine.batcher(session)
                runs0, items0 = batcher.stats.runs, batcher.stats.items
                rss0 = rss_mib()
                row = load(server.url, args.requests, clients)
                runs = batcher.stats.runs - runs0
                row.update(
                    max_batch=max_batch,
                    model_runs=runs,
                    inputs_per_run=round((batcher.stats.items - items0) / max(runs, 1), 2),
                    batchable_graph=session.batchable,
                    rss_mib_before=round(rss0, 1),
                    rss_mib_after=round(rss_mib(), 1),
                    temp_files_left=sum(1 for _ in server.app.state.jobs.root.rglob("*")),
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def live_runs(args: argparse.Namespace) -> list[dict]:
    sys.path.insert(0, str(HERE.parent / "tests" / "support"))
    from browser import open_chromium, write_y4m

    from saliency_cam.realtime.apps.serve import ServeConfig, running_server

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        clip = write_y4m(Path(folder) / "clip.y4m", frames=60, size=(480, 640))
        for quality in args.live_qualities:
            config = ServeConfig(quality=quality, models_dir=args.models_dir)
            with running_server(config) as server:
                server.app.state.engine.session()
                driver = open_chromium(clip)
                try:
                    driver.get(server.url + "/")
                    time.sleep(3)  # camera start, first frames
                    start = driver.execute_script("return window.saliencyLive.received || 0")
                    time.sleep(args.live_seconds)
                    state = driver.execute_script(
                        "const l = window.saliencyLive; return {received: l.received || 0,"
                        " latency: l.latency, fps: l.fps};"
                    )
                finally:
                    driver.quit()
            fps = (state["received"] - start) / args.live_seconds
            alone = infer_fps(quality, args.models_dir)
            row = {
                "quality": quality,
                "live_fps": round(fps, 2),
                "page_fps": round(state["fps"] or 0.0, 2),
                "round_trip_ms": round(state["latency"] or float("nan"), 1),
                "infer_fps": round(alone, 2),
                "ratio": round(fps / alone, 3),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--quality", default="very_low")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--live-qualities", nargs="+", default=["very_low", "medium"])
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "serve_throughput_cpu.json")
    args = parser.parse_args()

    before = infer_fps(args.quality, args.models_dir)
    api = api_runs(args)
    after = infer_fps(args.quality, args.models_dir)
    alone = (before + after) / 2
    for row in api:
        row["ratio_to_infer_fps"] = round(row["requests_per_s"] / alone, 3)
    one = {r["max_batch"]: r for r in api if r["clients"] == 1}
    many = {r["max_batch"]: r for r in api if r["clients"] == args.clients}
    summary = {
        f"{args.clients}_clients_over_1_client_max_batch_{b}": round(
            many[b]["requests_per_s"] / one[b]["requests_per_s"], 3
        )
        for b in many
        if b in one
    }
    result = {
        "what": "saliency-cam serve: POST /v1/saliency throughput; live page round trips",
        "command": " ".join(["python", *sys.argv]),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_avg": os.getloadavg(),
        },
        "quality": args.quality,
        "weights": "as exported in --models-dir (random weights run as fast as trained)",
        "infer_fps": {"before": round(before, 2), "after": round(after, 2)},
        "api": api,
        "summary": summary,
        "live": live_runs(args) if args.live else [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
