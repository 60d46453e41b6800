"""Load on `vidfuse serve`: N concurrent clients on loopback each submit M prompt jobs.

The server runs in this process (uvicorn in a thread, real worker processes) on a free loopback
port, over a fresh data folder. Each client submits a job, follows its server-sent events to the
end, then submits the next (closed loop; ``--burst`` submits all M first, retrying 429s after
their Retry-After). Afterwards every accepted job's MP4 is downloaded and checked with
``probe_video`` (frame count and size). Prints one markdown table; exits 1 if any accepted job
did not finish with a valid video.

    python bench/serve_load.py                       # 4 clients × 5 jobs, 2 workers, tiny random model
    python bench/serve_load.py --model default --clients 8 --jobs 4 --workers 2

With ``--kill-at SECONDS`` the server runs as its own process (``vidfuse serve``), is killed with
SIGKILL that many seconds into the load (its workers notice and exit by themselves), and is
started again at once over the same data folder; clients retry through the outage (a POST that
got no answer is sent again). Afterwards the job log is read: **jobs lost** (accepted with a 202,
not done in the end) and **jobs done twice** (more than one ``done`` transition) must both be 0,
or the script exits 1.

    python bench/serve_load.py --kill-at 5            # kill -9 the server 5 s into the load

Bounded: at most 64 clients, 50 jobs each, and ``--max-seconds`` of wall time (default 300).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx

CAPTIONS = [
    "the red digit 3 is moving to the left",
    "a blue seven moves down",
    "数字3在左右移动",
    "红色的数字7向下移动",
    "digit 5 is going right",
    "a green 4 bouncing up and down",
]


@dataclass
class Record:
    client: int
    prompt: str
    t_submit: float  # first POST sent
    t_accepted: float | None = None  # 202 received
    t_done: float | None = None  # terminal event received
    job_id: str | None = None
    status: str | None = None
    rejected_429: int = 0
    unanswered: int = 0  # POSTs that got no answer (the server was down) and were sent again
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
        try:
            r = http.post("/v1/videos", json=body)
        except httpx.TransportError:  # the server is down (killed): try again; the job may exist twice
            rec.unanswered += 1
            time.sleep(0.5)
            continue
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
            with http.stream(
                "GET",
                f"/v1/jobs/{rec.job_id}/events",
                timeout=httpx.Timeout(10, read=max(1.0, deadline - time.monotonic())),
            ) as r:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vidfuse serve exited at start-up (code {proc.returncode}); see its log")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"vidfuse serve did not answer in {timeout:.0f} s")


class CliServer:
    """``vidfuse serve`` as a child process (its own process group, so the end can clean up workers)."""

    def __init__(self, data: Path, model: Path | None, args, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cmd = [
            sys.executable,
            "-m",
            "vidfuse.cli",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(data),
            "--workers",
            str(args.workers),
            "--queue-size",
            str(args.queue_size),
        ]
        self.cmd += ["--model", str(model)] if model is not None else []
        self.log = open(log, "ab")
        self.groups: list[int] = []
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.groups.append(self.proc.pid)
        _wait_healthy(self.base, self.proc)

    def kill9(self) -> None:
        """SIGKILL the server process alone, as `kill -9 PID` would; its workers are left to notice."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl+C: the server stops its workers
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        for group in self.groups:  # anything left of this bench's servers
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        self.log.close()


@contextlib.contextmanager
def in_process_server(data: Path, model, args) -> Iterator[str]:
    from vidfuse.server.app import create_app, serve_in_background

    app = create_app(data_dir=data, model=model, workers=args.workers, queue_size=args.queue_size)
    with serve_in_background(app) as base:
        yield base


def killer(server: CliServer, data: Path, at: float, clients_done: threading.Event, report: dict) -> None:
    """At ``at`` (perf_counter), kill -9 the server, note what was running, and start it again
    (unless the clients finished first)."""
    from vidfuse.server.jobs import JobStore

    if clients_done.wait(max(0.0, at - time.perf_counter())):
        return
    report["running"] = JobStore(data, create=False).counts()["running"]
    t0 = time.perf_counter()
    server.kill9()
    report["killed_at"] = t0
    server.start()
    report["down_s"] = time.perf_counter() - t0


def job_log_facts(data: Path, accepted: list[Record]) -> dict:
    """From the server's own job log: jobs done more than once, jobs lost, jobs no client knew of."""
    from vidfuse.server.jobs import JobStore

    store = JobStore(data, create=False)
    done: dict[str, int] = {}
    requeued = 0
    for e in store.log():
        if e["event"] == "done":
            done[e["job_id"]] = done.get(e["job_id"], 0) + 1
        requeued += e["event"] == "requeued"
    known = {r.job_id for r in accepted}
    everything = {j.id: j for j in store.list(limit=10_000)}
    return {
        "twice": sorted(j for j, n in done.items() if n > 1),
        "lost": sorted(j for j in known if done.get(j, 0) == 0),
        "unknown": sorted(j for j in everything if j not in known),
        "unknown_not_done": sorted(j for j, job in everything.items() if j not in known and job.status != "done"),
        "requeued": requeued,
        "crashes": sum(j.crashes for j in everything.values()),
    }


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
    ap.add_argument(
        "--kill-at",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run `vidfuse serve` as a process, kill -9 it this many seconds into the load, restart it",
    )
    args = ap.parse_args()
    if not (1 <= args.clients <= 64 and 1 <= args.jobs <= 50 and 0 < args.max_seconds <= 3600):
        ap.error("bounds: 1-64 clients, 1-50 jobs each, max-seconds up to 3600")
    if args.kill_at is not None and not 0 < args.kill_at < args.max_seconds:
        ap.error("--kill-at must be within (0, --max-seconds)")

    kill: dict = {}
    with tempfile.TemporaryDirectory(prefix="vidfuse-load-") as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        data = tmp / "data"
        model = (None if args.model == "default" else Path(args.model)) if args.model else tiny_model(tmp)
        model_name = "tiny random (16×16)" if not args.model else args.model
        body = {"frames": args.frames}
        if args.size:
            body.update(height=args.size[0], width=args.size[1])
        if args.kill_at is None:
            base = stack.enter_context(in_process_server(data, model, args))
        else:
            server = CliServer(data, model, args, tmp / "serve.log")
            stack.callback(server.stop)
            server.start()
            base = server.base
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
        threads = [
            threading.Thread(target=client_loop, args=(base, n, args.jobs, body, args.burst, deadline, records))
            for n in range(args.clients)
        ]
        clients_done = threading.Event()
        kill_thread = (
            threading.Thread(target=killer, args=(server, data, t_start + args.kill_at, clients_done, kill))
            if args.kill_at is not None
            else None
        )
        for t in threads + [kill_thread] * (kill_thread is not None):
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_start
        clients_done.set()
        if kill_thread is not None:
            kill_thread.join()
        valid = check_videos(base, records, args.frames, tuple(args.size) if args.size else None, tmp)
        facts = job_log_facts(data, [r for r in records if r.job_id] + [Record(-1, "", 0.0, job_id=warm)])
        if args.kill_at is not None and "killed_at" not in kill:
            print("the load ended before --kill-at: nothing was killed; use a smaller --kill-at", file=sys.stderr)

    accepted = [r for r in records if r.job_id]
    done = [r for r in accepted if r.status == "done"]
    submit_ms = [1000 * (r.t_accepted - r.t_submit) for r in accepted]
    e2e = [r.t_done - r.t_submit for r in done]
    rejected = sum(r.rejected_429 for r in records)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"\n### `vidfuse serve` under load: {args.clients} clients × {args.jobs} jobs "
        f"({'burst' if args.burst else 'closed loop'}), {args.workers} workers\n"
    )
    print(
        f"model {model_name}, {args.frames} frames"
        f"{f' at {args.size[0]}×{args.size[1]}' if args.size else ''}; {platform.processor() or platform.machine()}, "
        f"{cpus} CPUs; queue size {args.queue_size}\n"
    )
    print("| metric | value |\n| --- | --- |")
    print(f"| jobs submitted / accepted / done | {len(records)} / {len(accepted)} / {len(done)} |")
    print(f"| 429 answers (retried after Retry-After) | {rejected} |")
    print(f"| wall time | {wall:.1f} s |")
    print(f"| throughput | {len(done) / wall:.2f} jobs/s |")
    print(
        f"| submit → 202, p50 / p90 / p99 | {pct(submit_ms, 50):.1f} / {pct(submit_ms, 90):.1f} / "
        f"{pct(submit_ms, 99):.1f} ms |"
    )
    print(f"| submit → done, p50 / p90 / p99 | {pct(e2e, 50):.2f} / {pct(e2e, 90):.2f} / {pct(e2e, 99):.2f} s |")
    if e2e:
        print(f"| submit → done, mean / max | {statistics.fmean(e2e):.2f} / {max(e2e):.2f} s |")
    print(f"| accepted jobs with a valid MP4 (probe_video) | {valid} / {len(accepted)} |")
    if args.kill_at is not None and "killed_at" in kill:
        print(
            f"| `kill -9` of the server | at {kill['killed_at'] - t_start:.1f} s, {kill['running']} job(s) running; "
            f"up again {kill['down_s']:.1f} s later |"
        )
        print(
            f"| POSTs with no answer, sent again | {sum(r.unanswered for r in records)} "
            f"({len(facts['unknown'])} of them had made a job: {len(facts['unknown_not_done'])} not done) |"
        )
        print(f"| jobs re-queued / crashes charged to jobs | {facts['requeued']} / {facts['crashes']} |")
    print(f"| **jobs lost** (accepted, never done) | **{len(facts['lost'])}** |")
    print(f"| **jobs done twice** | **{len(facts['twice'])}** |")
    failures = [r for r in accepted if r.status != "done" or r.error]
    for r in failures[:5]:
        print(f"\nfailed: job {r.job_id} ({r.status}): {r.error}", file=sys.stderr)
    for what in ("lost", "twice", "unknown_not_done"):
        if facts[what]:
            print(f"\n{what}: {', '.join(facts[what][:10])}", file=sys.stderr)
    ok = (
        valid == len(accepted)
        and accepted
        and not facts["lost"]
        and not facts["twice"]
        and not facts["unknown_not_done"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
