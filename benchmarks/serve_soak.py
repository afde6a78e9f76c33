"""Soak test of ``saliency-cam serve`` under hostile mixed traffic: does it stay up,
answer every request with a 2xx/4xx/503 (never a 5xx crash), and keep its memory and
temp folder bounded?

A real server process (``saliency-cam serve``, its default limits except those given
below) is started on a free 127.0.0.1 port with its own TMPDIR; ``--clients`` threads
send a seeded random mix for ``--seconds`` (or until ``--max-requests``), loopback
only:

- ``image``: a 320x240 JPEG (200)
- ``large``: a 7000x7000 PNG, 49 MP decoded from ~150 KB (200, or 503 when the pixel
  budget is full: the memory stressor)
- ``bomb``: a PNG whose header claims 60000x60000 (422) and a PAM / Radiance HDR header
  claiming the same (422)
- ``big_video``: an 8192x8192 H.264 clip (422: over the pixel limit)
- ``fast_video``: 64x64 at 1000 fps, more frames than ``--max-video-frames`` (422)
- ``video``: a small clip (202, then polled; 503 when the job slots are full)
- ``junk``: ``--junk-mb`` MiB of random bytes named ``.mp4`` (422, or 503)
- ``live``: a WebSocket session sending good frames with absurd ones among them; every
  frame must be answered (a map or an error message) on the same connection
- ``foreign``: ``Host: attacker.example`` (400) and a POST from ``Origin:
  https://evil.example`` (403)

Meanwhile ``/healthz`` is polled every 0.5 s and the server's RSS (``/proc``) and its
temp folder's size every 0.2 s. Recorded: requests served, answers by kind and status,
the 5xx count (goal 0), peak RSS (goal <= 2 GB on a 24 GB machine), the temp folder's
peak, health-check failures and slowest answer.

    nice python benchmarks/serve_soak.py --models-dir DIR --quality very_low --seconds 120

Writes ``benchmarks/results/serve_soak_cpu.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import random
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from soak_media import build_media  # the hostile inputs, beside this script

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only: this benchmark never reaches another machine


def folder_bytes(folder: Path) -> int:
    """Bytes under ``folder`` now (files vanishing mid-walk count as 0)."""
    sizes = (Path(root, name) for root, _, files in os.walk(folder) for name in files)
    return sum(path.stat().st_size if path.exists() else 0 for path in sizes)


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class Soak:
    """The traffic, the monitors and the tallies."""

    def __init__(self, args: argparse.Namespace, url: str, pid: int, tmp: Path) -> None:
        self.args = args
        self.url = url
        self.pid = pid
        self.tmp = tmp
        self.deadline = time.monotonic() + args.seconds
        self.lock = threading.Lock()
        self.sent = 0
        self.by_kind: dict[str, Counter[str]] = {}
        self.unexpected: list[str] = []
        self.peak_rss = 0.0
        self.peak_tmp = 0
        self.health = {"checks": 0, "failures": 0, "slowest_s": 0.0}
        self.live = {"sessions": 0, "frames": 0, "maps": 0, "errors": 0, "unanswered": 0}
        self.stop = threading.Event()

    def more(self) -> bool:
        with self.lock:
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return False
            if self.sent >= self.args.max_requests:
                return False
            self.sent += 1
            return True

    def record(self, kind: str, status: int | str, expected: set[int]) -> None:
        with self.lock:
            self.by_kind.setdefault(kind, Counter())[str(status)] += 1
            if status not in expected and len(self.unexpected) < 50:
                self.unexpected.append(f"{kind}: {status}")

    # ------------------------------------------------------------------ monitors
    def monitor(self) -> None:
        while not self.stop.is_set():
            rss = rss_mib(self.pid)
            used = folder_bytes(self.tmp)
            with self.lock:
                self.peak_rss = max(self.peak_rss, rss)
                self.peak_tmp = max(self.peak_tmp, used)
            time.sleep(0.2)

    def health_probe(self) -> None:
        import httpx

        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    ok = http.get(f"{self.url}/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.monotonic() - started
                with self.lock:
                    self.health["checks"] += 1
                    self.health["failures"] += not ok
                    self.health["slowest_s"] = max(self.health["slowest_s"], round(took, 3))
                time.sleep(0.5)

    # ------------------------------------------------------------------ traffic
    def client(self, seed: int, media: dict[str, bytes]) -> None:
        import httpx

        rng = random.Random(seed)
        kinds = list(self.args.mix)
        weights = [self.args.mix[k] for k in kinds]
        # a fresh connection per request: a reused keep-alive connection that the server
        # closed as idle would show as a transport error that is not the server's fault
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.url, timeout=120, limits=fresh) as http:
            while self.more():
                kind = rng.choices(kinds, weights)[0]
                try:
                    getattr(self, f"send_{kind}")(http, media, rng)
                except httpx.HTTPError as exc:  # the connection failed: the worst answer
                    self.record(kind, f"transport:{type(exc).__name__}", set())

    def post_image(self, http, kind: str, name: str, data: bytes, expected: set[int]) -> None:
        reply = http.post("/v1/saliency", files={"file": (name, data)})
        self.record(kind, reply.status_code, expected)

    def send_image(self, http, media, rng) -> None:
        self.post_image(http, "image", "a.jpg", media["jpeg"], {200})

    def send_large(self, http, media, rng) -> None:
        self.post_image(http, "large", "large.png", media["large"], {200, 503})

    def send_bomb(self, http, media, rng) -> None:
        name, data = rng.choice(
            [("bomb.png", media["bomb_png"]), ("bomb.pam", media["pam"]), ("b.hdr", media["hdr"])]
        )
        self.post_image(http, "bomb", name, data, {422})

    def post_video(self, http, kind: str, data: bytes, expected: set[int]) -> dict | None:
        reply = http.post("/v1/videos", files={"file": (f"{kind}.mp4", data)})
        self.record(kind, reply.status_code, expected)
        return reply.json() if reply.status_code == 202 else None

    def send_big_video(self, http, media, rng) -> None:
        self.post_video(http, "big_video", media["big_video"], {422, 503})

    def send_fast_video(self, http, media, rng) -> None:
        self.post_video(http, "fast_video", media["fast_video"], {422, 503})

    def send_junk(self, http, media, rng) -> None:
        self.post_video(http, "junk", media["junk"], {422, 503})

    def send_video(self, http, media, rng) -> None:
        job = self.post_video(http, "video", media["video"], {202, 503})
        while job is not None and job["state"] in ("queued", "running"):
            if time.monotonic() > self.deadline:
                http.delete(f"/v1/videos/{job['id']}")  # leave nothing running
                return
            time.sleep(0.5)
            reply = http.get(f"/v1/videos/{job['id']}")
            self.record("video_poll", reply.status_code, {200})
            job = reply.json()
        if job is not None and job["state"] == "done":
            reply = http.get(job["download"])
            self.record("video_download", reply.status_code, {200})

    def send_foreign(self, http, media, rng) -> None:
        port = self.url.rsplit(":", 1)[1]
        reply = http.get("/v1/models", headers={"Host": f"attacker.example:{port}"})
        self.record("foreign_host", reply.status_code, {400})
        reply = http.post(
            "/v1/saliency",
            files={"file": ("a.jpg", media["jpeg"])},
            headers={"Origin": "https://evil.example"},
        )
        self.record("foreign_origin", reply.status_code, {403})

    def send_live(self, http, media, rng) -> None:
        asyncio.run(self.live_session(media, rng))

    async def live_session(self, media: dict[str, bytes], rng: random.Random) -> None:
        import websockets

        frames = [media["jpeg"]] * 6 + [media["pam"], media["bomb_png"], b"junk" * 8]
        rng.shuffle(frames)
        url = self.url.replace("http", "ws") + "/v1/live"
        counts = Counter()
        try:
            async with websockets.connect(url, max_size=2**24) as ws:
                for seq, frame in enumerate(frames, start=1):
                    await ws.send(struct.pack("<I", seq) + frame)
                    counts["frames"] += 1
                    while True:  # one frame in flight: each gets its own answer
                        message = await asyncio.wait_for(ws.recv(), 60)
                        if isinstance(message, bytes):
                            counts["maps"] += 1
                            break
                        if json.loads(message).get("type") == "error":
                            counts["errors"] += 1
                            break
            status: int | str = 101
        except (asyncio.TimeoutError, OSError, websockets.WebSocketException) as exc:
            status = f"live:{type(exc).__name__}"
        counts["unanswered"] = counts["frames"] - counts["maps"] - counts["errors"]
        with self.lock:
            self.live["sessions"] += 1
            for key, value in counts.items():
                self.live[key] += value
        self.record("live", status if not counts["unanswered"] else "unanswered", {101})


def start_server(args: argparse.Namespace, port: int, tmp: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "saliency_cam.realtime.cli.main",
        "serve",
        "--no-browser",
        "--host",
        HOST,
        "--port",
        str(port),
        "--quality",
        args.quality,
        "--max-video-frames",
        str(args.max_video_frames),
    ]
    if args.models_dir:
        command += ["--models-dir", str(args.models_dir)]
    env = {**os.environ, "TMPDIR": str(tmp), "SALIENCY_CAM_TOKEN": ""}
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {process.stderr.read()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up")


#: The traffic mix: relative weights of the request kinds (see the module docstring).
MIX = {
    "image": 30,
    "large": 6,
    "bomb": 10,
    "big_video": 3,
    "fast_video": 3,
    "video": 4,
    "junk": 4,
    "live": 6,
    "foreign": 6,
}


@dataclasses.dataclass
class Outcome:
    """What a soak measured on the running server, before it was stopped."""

    soak: Soak
    elapsed: float
    idle_rss: float
    alive: bool
    high_water: float
    metrics: str


def main() -> None:
    """Make the inputs, start the server, soak it, stop it, write the result JSON."""
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-soak-") as scratch:
        scratch_dir = Path(scratch)
        server_tmp = scratch_dir / "server-tmp"
        server_tmp.mkdir()
        media = build_media(scratch_dir, args)
        from saliency_cam.realtime.apps.serve.server import free_port

        port = free_port(HOST)
        url = f"http://{HOST}:{port}"
        process = start_server(args, port, server_tmp)
        try:
            outcome = soak_server(args, url, process, server_tmp, media)
        finally:
            err = stop_server(process)
        leftover = folder_bytes(server_tmp)  # what the server left behind once stopped
    result = report(args, outcome, process.returncode, err, leftover)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(json.dumps(result, indent=2) + "\n")
    partial.replace(args.out)
    print(json.dumps({k: result[k] for k in list(result)[4:16]}, indent=2))


def parse_args() -> argparse.Namespace:
    """The command line, with ``seconds`` capped and the traffic ``mix`` attached."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--quality", default="very_low")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--junk-mb", type=int, default=20)
    parser.add_argument("--max-video-frames", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "serve_soak_cpu.json")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 1800.0)  # bounded whatever is asked
    args.mix = dict(MIX)
    return args


def soak_server(
    args: argparse.Namespace, url: str, process: subprocess.Popen, tmp: Path, media: dict
) -> Outcome:
    """Wait for the server, run the traffic with the monitors beside it, then read
    what it reached (high-water RSS, metrics) while it still runs."""
    wait_healthy(url, process)
    idle_rss = rss_mib(process.pid)
    soak = Soak(args, url, process.pid, tmp)
    watchers = [
        threading.Thread(target=soak.monitor, daemon=True),
        threading.Thread(target=soak.health_probe, daemon=True),
    ]
    for thread in watchers:
        thread.start()
    elapsed = run_clients(soak, args, media)
    time.sleep(1.0)  # the monitors see the server settle after the last answer
    soak.stop.set()
    for thread in watchers:
        thread.join(timeout=15)
    alive = process.poll() is None
    high_water = rss_mib(process.pid, "VmHWM")
    metrics = _metrics(url) if alive else ""
    return Outcome(soak, elapsed, idle_rss, alive, high_water, metrics)


def run_clients(soak: Soak, args: argparse.Namespace, media: dict[str, bytes]) -> float:
    """``--clients`` seeded client threads until the soak ends; returns the seconds."""
    started = time.monotonic()
    clients = [
        threading.Thread(target=soak.client, args=(args.seed + i, media), daemon=True)
        for i in range(args.clients)
    ]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=args.seconds + 300)
    return time.monotonic() - started


def stop_server(process: subprocess.Popen) -> str:
    """SIGTERM (a clean shutdown is part of the test), killed after 60 s; its stderr."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def report(
    args: argparse.Namespace, outcome: Outcome, exit_code: int | None, err: str, leftover: int
) -> dict:
    """The result JSON: settings, answers by status and kind, health, memory, disk."""
    soak, elapsed = outcome.soak, outcome.elapsed
    statuses: Counter[str] = Counter()
    for counts in soak.by_kind.values():
        statuses.update(counts)
    served = sum(statuses.values())
    five_xx = sum(
        n for s, n in statuses.items() if s.isdigit() and s.startswith("5") and s != "503"
    )
    return {
        "benchmark": "serve_soak",
        "command": " ".join(sys.argv),
        "machine": _machine(),
        "settings": _settings(args),
        "elapsed_s": round(elapsed, 1),
        "requests_served": served,
        "requests_per_s": round(served / elapsed, 2) if elapsed else None,
        "by_status": dict(sorted(statuses.items())),
        "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(soak.by_kind.items())},
        "status_5xx_not_503": five_xx,
        "status_503": statuses.get("503", 0),
        "unexpected": soak.unexpected,
        "live": soak.live,
        "health": {**soak.health, "server_alive_at_end": outcome.alive},
        "server_rss_mib": {
            "idle": round(outcome.idle_rss, 1),
            "peak_sampled": round(soak.peak_rss, 1),
            "high_water": round(outcome.high_water, 1),
        },
        "temp_folder_peak_mib": round(soak.peak_tmp / 2**20, 1),
        "temp_folder_left_after_stop_bytes": leftover,
        "pixels_in_flight_peak": _metric(
            outcome.metrics, 'saliency_pixels_in_flight{amount="peak"}'
        ),
        "server_stop_exit_code": exit_code,
        "server_stderr_tail": err[-2000:],
    }


def _machine() -> dict:
    """Where it ran (the soak's memory goal depends on the machine's memory)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
    }


def _settings(args: argparse.Namespace) -> dict:
    """What was asked: duration, clients, model, mix and the one non-default limit."""
    return {
        "seconds": args.seconds,
        "max_requests": args.max_requests,
        "clients": args.clients,
        "quality": args.quality,
        "mix": args.mix,
        "junk_mb": args.junk_mb,
        "server_limits": "defaults, except --max-video-frames "
        f"{args.max_video_frames} (so a 1000 fps clip crosses it cheaply)",
    }


def _metrics(url: str) -> str:
    import httpx

    try:
        return httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return ""


def _metric(text: str, series: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


if __name__ == "__main__":
    main()
