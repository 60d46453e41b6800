"""Load on `vidfuse serve`: N concurrent clients on loopback each submit M prompt jobs.

The server runs in this process (uvicorn in a thread, real worker processes) on a free loopback
port, over a fresh data folder. Each client submits a job, follows its server-sent events to the
end, then submits the next (closed loop; ``--burst`` submits all M first, retrying 429s after
their Retry-After). Afterwards every accepted job's MP4 is downloaded and checked with
``probe_video`` (frame count and size). Prints one markdown table; exits 1 if any accepted job
did not finish with a valid video.

    python bench/serve_load.py                       # 4 clients × 5 jobs, 2 workers, tiny random model
    python bench/serve_load.py --model default --clients 8 --jobs 4 --workers 2

Bounded: at most 64 clients, 50 jobs each, and ``--max-seconds`` of wall time (default 300).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CAPTIONS = ["the red digit 3 is moving to the left", "a blue seven moves down", "数字3在左右移动",
            "红色的数字7向下移动", "digit 5 is going right", "a green 4 bouncing up and down"]


@dataclass
class Record:
    client: int
    prompt: str
    t_submit: float                 # first POST sent
    t_accepted: float | None = None  # 202 received
    t_done: float | None = None      # terminal event received
    job_id: str | None = None
    status: str | None = None
    rejected_429: int = 0
    error: str | None = None
    extra: dict = field(default_factory=dict)


def tiny_model(folder: Path) -> Path:
    """A tiny random model (16×16 frames): measures the server, not the network."""
    import torch

    from vidfuse.config import tiny
    from vidfuse.data.tokenizer import CharTokenizer
    from vidfuse.models.model import VidFuseModel
    from vidfuse.pipeline import TextToVideoPipeline

    torch.manual_seed(0)
    tok = CharTokenizer.build(CAPTIONS, max_length=48)
    cfg = tiny()
    cfg.vocab_size = tok.vocab_size
    return TextToVideoPipeline(VidFuseModel(cfg), tok, device="cpu").save_pretrained(folder / "tiny")


def submit(http: httpx.Client, rec: Record, body: dict, deadline: float) -> bool:
    while time.monotonic() < deadline:
        r = http.post("/v1/videos", json=body)
        if r.status_code == 429:
            rec.rejected_429 += 1
            time.sleep(min(float(r.headers.get("retry-after", "1")), max(0.0, deadline - time.monotonic()), 5.0))
            continue
        if r.status_code != 202:
            rec.error = f"HTTP {r.status_code}: {r.text[:200]}"
            return False
        rec.t_accepted, rec.job_id = time.perf_counter(), r.json()["id"]
        return True
    rec.error = "deadline passed before the job was accepted"
    return False


def follow(http: httpx.Client, rec: Record, deadline: float) -> None:
    """Read the job's event stream until a terminal event (reconnecting if the stream drops)."""
    while time.monotonic() < deadline:
        try:
            with http.stream("GET", f"/v1/jobs/{rec.job_id}/events",
                             timeout=httpx.Timeout(10, read=max(1.0, deadline - time.monotonic()))) as r:
                name = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name in ("done", "failed", "cancelled"):
                        rec.t_done, rec.status = time.perf_counter(), name
                        rec.error = json.loads(line[6:]).get("error")
                        return
        except httpx.HTTPError:
            time.sleep(0.2)
    rec.error = rec.error or "deadline passed before the job finished"


def client_loop(base: str, n: int, jobs: int, body: dict, burst: bool, deadline: float, out: list[Record]) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        recs = []
        for m in range(jobs):
            prompt = CAPTIONS[(n + m) % len(CAPTIONS)]
            rec = Record(client=n, prompt=prompt, t_submit=time.perf_counter())
            recs.append(rec)
            accepted = submit(http, rec, {**body, "prompt": prompt, "seed": 1000 * n + m}, deadline)
            if accepted and not burst:
                follow(http, rec, deadline)
        if burst:
            for rec in recs:
                if rec.job_id:
                    follow(http, rec, deadline)
        out.extend(recs)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def check_videos(base: str, recs: list[Record], frames: int, size: tuple[int, int] | None, tmp: Path) -> int:
    from vidfuse.media.video_io import VideoDecodeError, probe_video

    valid = 0
    with httpx.Client(base_url=base, timeout=60) as http:
        for rec in recs:
            if rec.status != "done":
                continue
            r = http.get(f"/v1/jobs/{rec.job_id}/video")
            path = tmp / f"{rec.job_id}.mp4"
            path.write_bytes(r.content)
            try:
                info = probe_video(path)
            except VideoDecodeError as e:
                rec.error = f"invalid video: {e}"
                continue
            ok = r.status_code == 200 and info.num_frames == frames and info.video_codec == "h264"
            if size is not None:
                ok = ok and (info.height, info.width) == size
            if ok:
                valid += 1
            else:
                rec.error = f"unexpected video: {info}"
    return valid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=5, help="jobs per client")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue-size", type=int, default=16)
    ap.add_argument("--model", default=None, help="model folder, or 'default' (shipped); default: tiny random")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None, help="output size")
    ap.add_argument("--burst", action="store_true", help="each client submits all its jobs first")
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()
    if not (1 <= args.clients <= 64 and 1 <= args.jobs <= 50 and 0 < args.max_seconds <= 3600):
        ap.error("bounds: 1-64 clients, 1-50 jobs each, max-seconds up to 3600")

    from vidfuse.server.app import create_app, serve_in_background

    with tempfile.TemporaryDirectory(prefix="vidfuse-load-") as tmp:
        tmp = Path(tmp)
        model = (None if args.model == "default" else Path(args.model)) if args.model else tiny_model(tmp)
        model_name = "tiny random (16×16)" if not args.model else args.model
        app = create_app(data_dir=tmp / "data", model=model, workers=args.workers, queue_size=args.queue_size)
        body = {"frames": args.frames}
        if args.size:
            body.update(height=args.size[0], width=args.size[1])
        with serve_in_background(app) as base:
            # wait until every worker has loaded the model, so start-up is not counted as latency
            with httpx.Client(base_url=base) as http:
                warm = http.post("/v1/videos", json={**body, "prompt": CAPTIONS[0]}).json()["id"]
                t0 = time.monotonic()
                while http.get(f"/v1/jobs/{warm}").json()["status"] not in ("done", "failed"):
                    if time.monotonic() - t0 > 120:
                        raise SystemExit("the warm-up job did not finish in 120 s")
                    time.sleep(0.1)
                time.sleep(2.0 if args.workers > 1 else 0)  # the other workers load meanwhile
            records: list[Record] = []
            deadline = time.monotonic() + args.max_seconds
            t_start = time.perf_counter()
            threads = [threading.Thread(target=client_loop, args=(base, n, args.jobs, body, args.burst, deadline,
                                                                  records)) for n in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t_start
            valid = check_videos(base, records, args.frames, tuple(args.size) if args.size else None, tmp)

    accepted = [r for r in records if r.job_id]
    done = [r for r in accepted if r.status == "done"]
    submit_ms = [1000 * (r.t_accepted - r.t_submit) for r in accepted]
    e2e = [r.t_done - r.t_submit for r in done]
    rejected = sum(r.rejected_429 for r in records)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\n### `vidfuse serve` under load: {args.clients} clients × {args.jobs} jobs "
          f"({'burst' if args.burst else 'closed loop'}), {args.workers} workers\n")
    print(f"model {model_name}, {args.frames} frames"
          f"{f' at {args.size[0]}×{args.size[1]}' if args.size else ''}; {platform.processor() or platform.machine()}, "
          f"{cpus} CPUs; queue size {args.queue_size}\n")
    print("| metric | value |\n| --- | --- |")
    print(f"| jobs submitted / accepted / done | {len(records)} / {len(accepted)} / {len(done)} |")
    print(f"| 429 answers (retried after Retry-After) | {rejected} |")
    print(f"| wall time | {wall:.1f} s |")
    print(f"| throughput | {len(done) / wall:.2f} jobs/s |")
    print(f"| submit → 202, p50 / p90 / p99 | {pct(submit_ms, 50):.1f} / {pct(submit_ms, 90):.1f} / "
          f"{pct(submit_ms, 99):.1f} ms |")
    print(f"| submit → done, p50 / p90 / p99 | {pct(e2e, 50):.2f} / {pct(e2e, 90):.2f} / {pct(e2e, 99):.2f} s |")
    if e2e:
        print(f"| submit → done, mean / max | {statistics.fmean(e2e):.2f} / {max(e2e):.2f} s |")
    print(f"| accepted jobs with a valid MP4 (probe_video) | {valid} / {len(accepted)} |")
    failures = [r for r in accepted if r.status != "done" or r.error]
    for r in failures[:5]:
        print(f"\nfailed: job {r.job_id} ({r.status}): {r.error}", file=sys.stderr)
    return 0 if valid == len(accepted) and accepted else 1


if __name__ == "__main__":
    sys.exit(main())
