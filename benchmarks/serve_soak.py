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
import io
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
import zlib
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only: this benchmark never reaches another machine

ABSURD_PAM = b"P7\nWIDTH 60000\nHEIGHT 60000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n"
ABSURD_HDR = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 60000 +X 60000\n"


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def large_png(size: int) -> bytes:
    """A ``size`` x ``size`` PNG of big flat blocks: small file, full decode."""
    from PIL import Image

    blocks = np.random.default_rng(1).integers(0, 255, (size // 500 + 1, size // 500 + 1, 3))
    picture = np.kron(blocks.astype(np.uint8), np.ones((500, 500, 1), np.uint8))[:size, :size]
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    return buffer.getvalue()


def claimed_png(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height``."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (64, 64)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # its CRC, redone
    return bytes(data)


def clip(path: Path, width: int, height: int, frames: int, fps: int) -> bytes:
    """An H.264 clip of flat grey frames (PyAV)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(frames):
            picture = np.full((height, width, 3), (index * 7) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


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


def build_media(folder: Path, args: argparse.Namespace) -> dict[str, bytes]:
    rng = np.random.default_rng(2)
    return {
        "jpeg": jpeg(320, 240),
        "large": large_png(7000),
        "bomb_png": claimed_png(60000, 60000),
        "pam": ABSURD_PAM + b"\0" * 4096,
        "hdr": ABSURD_HDR + b"\0" * 4096,
        "big_video": clip(folder / "big.mp4", 8192, 8192, 2, 25),
        "fast_video": clip(folder / "fast.mp4", 64, 64, args.max_video_frames + 200, 1000),
        "video": clip(folder / "small.mp4", 96, 64, 12, 25),
        "junk": rng.integers(0, 256, args.junk_mb * 1024 * 1024, dtype=np.uint8).tobytes(),
    }


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


def main() -> None:
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
    args.mix = {
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
            wait_healthy(url, process)
            idle_rss = rss_mib(process.pid)
            soak = Soak(args, url, process.pid, server_tmp)
            watchers = [
                threading.Thread(target=soak.monitor, daemon=True),
                threading.Thread(target=soak.health_probe, daemon=True),
            ]
            for thread in watchers:
                thread.start()
            started = time.monotonic()
            clients = [
                threading.Thread(target=soak.client, args=(args.seed + i, media), daemon=True)
                for i in range(args.clients)
            ]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join(timeout=args.seconds + 300)
            elapsed = time.monotonic() - started
            time.sleep(1.0)
            soak.stop.set()
            for thread in watchers:
                thread.join(timeout=15)
            alive = process.poll() is None
            high_water = rss_mib(process.pid, "VmHWM")
            metrics = _metrics(url) if alive else ""
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                _, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                _, err = process.communicate()
        leftover = folder_bytes(server_tmp)

    statuses = Counter()
    for counts in soak.by_kind.values():
        statuses.update(counts)
    served = sum(statuses.values())
    five_xx = sum(
        n for s, n in statuses.items() if s.isdigit() and s.startswith("5") and s != "503"
    )
    result = {
        "benchmark": "serve_soak",
        "command": " ".join(sys.argv),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
            "python": platform.python_version(),
        },
        "settings": {
            "seconds": args.seconds,
            "max_requests": args.max_requests,
            "clients": args.clients,
            "quality": args.quality,
            "mix": args.mix,
            "junk_mb": args.junk_mb,
            "server_limits": "defaults, except --max-video-frames "
            f"{args.max_video_frames} (so a 1000 fps clip crosses it cheaply)",
        },
        "elapsed_s": round(elapsed, 1),
        "requests_served": served,
        "requests_per_s": round(served / elapsed, 2) if elapsed else None,
        "by_status": dict(sorted(statuses.items())),
        "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(soak.by_kind.items())},
        "status_5xx_not_503": five_xx,
        "status_503": statuses.get("503", 0),
        "unexpected": soak.unexpected,
        "live": soak.live,
        "health": {**soak.health, "server_alive_at_end": alive},
        "server_rss_mib": {
            "idle": round(idle_rss, 1),
            "peak_sampled": round(soak.peak_rss, 1),
            "high_water": round(high_water, 1),
        },
        "temp_folder_peak_mib": round(soak.peak_tmp / 2**20, 1),
        "temp_folder_left_after_stop_bytes": leftover,
        "pixels_in_flight_peak": _metric(metrics, 'saliency_pixels_in_flight{amount="peak"}'),
        "server_stop_exit_code": process.returncode,
        "server_stderr_tail": err[-2000:],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(json.dumps(result, indent=2) + "\n")
    partial.replace(args.out)
    print(json.dumps({k: result[k] for k in list(result)[4:16]}, indent=2))


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
