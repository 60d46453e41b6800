"""vidfuse serve: the API over a real worker pool (spawned processes), the job store, limits, auth.

One app with a real worker runs for the module (jobs end to end, worker death); apps with
``workers=0`` test what needs no worker (429, cancel of queued jobs, tokens) instantly; the
restart test starts a fresh app over a data folder holding queued and running jobs.
"""

import json
import os
import shutil
import signal
import sqlite3
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import tiny_pipeline
from fastapi.testclient import TestClient as _TestClient

from vidfuse.server.app import create_app
from vidfuse.server.datafolder import VIDEO
from vidfuse.server.runners import run_job
from vidfuse.server.schemas import Limits
from vidfuse.server.store import JobStore

pytestmark = pytest.mark.slow
TIMEOUT_S = 120


def TestClient(app, **kwargs):
    """Starlette's test client, naming the server "localhost" (its default, "testserver", is refused)."""
    return _TestClient(app, base_url="http://localhost", **kwargs)


@pytest.fixture(scope="module")
def served(model_dir, tmp_path_factory):
    """(client, app, data_dir) with one real worker process."""
    data = tmp_path_factory.mktemp("served") / "data"
    app = create_app(data_dir=data, model=model_dir, workers=1, queue_size=8)
    with TestClient(app) as client:
        yield client, app, data


def wait_done(client, job_id, statuses=("done", "failed", "cancelled"), timeout=TIMEOUT_S, headers=None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def sse_events(client, job_id) -> list[tuple[str, dict]]:
    """Read the job's event stream to its end (the server closes it at a terminal state)."""
    events, name = [], None
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    return events


# ---- jobs end to end --------------------------------------------------------------------------------


def test_prompt_job_progress_download_and_range(served):
    from vidfuse.media.video_io import probe_video

    client, app, data = served
    r = client.post(
        "/v1/videos",
        json={"prompt": "the red digit 3 is moving to the left", "frames": 12, "seed": 7, "height": 33, "width": 48},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/v1/jobs/{job_id}"
    # the row was committed before the 202: a fresh connection sees it
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs WHERE id = ?", (job_id,)).fetchone()[0] == 1

    events = sse_events(client, job_id)
    names = [n for n, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"progress"}
    progress = [e["progress"] for _, e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    # in order; the stream polls every 0.2 s, so a job that runs for less than that may show no "running" event
    statuses = [e["status"] for _, e in events]
    assert statuses == sorted(statuses, key=["queued", "running", "done"].index), statuses

    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "done" and job["params"]["seed"] == 7 and job["error"] is None
    video = client.get(job["urls"]["video"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.headers["accept-ranges"] == "bytes"
    path = data.parent / "downloaded.mp4"
    path.write_bytes(video.content)
    info = probe_video(path)
    # an MP4 pads the odd height asked (33) to even, and the job says the size written, not the one asked
    assert (info.num_frames, info.width, info.height, info.video_codec) == (12, 48, 34, "h264")
    assert job["params"]["height"] == 33
    assert {k: job["video"][k] for k in ("width", "height", "frames", "audio")} == {
        "width": 48,
        "height": 34,
        "frames": 12,
        "audio": False,
    }
    assert job["video"]["fps"] == pytest.approx(8.0) and job["video"]["duration_s"] == pytest.approx(1.5, abs=0.01)
    assert (data / "jobs" / job_id / VIDEO).read_bytes() == video.content  # named by the server

    part = client.get(job["urls"]["video"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(video.content)}"
    assert part.content == video.content[100:200]
    tail = client.get(job["urls"]["video"], headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == video.content[-50:]
    assert client.get(job["urls"]["video"], headers={"Range": f"bytes={10**9}-"}).status_code == 416
    attachment = client.get(job["urls"]["video"] + "?download=1")
    assert "attachment" in attachment.headers["content-disposition"]

    for key in ("thumbnail", "storyboard"):
        png = client.get(job["urls"][key])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/v1/jobs/{job_id}/subtitles").status_code == 404  # a prompt job has none

    listed = client.get("/v1/jobs").json()["jobs"]
    assert listed[0]["id"] == job_id and listed[0]["urls"]["thumbnail"].endswith("/thumbnail")
    assert "params" not in listed[0]


def test_script_job(served, tmp_path):
    pytest.importorskip("vidfuse.story.compose")
    from vidfuse.media.video_io import probe_video

    client, app, data = served
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET PAYLOAD", encoding="utf-8")
    # A one-line script that names an existing file must be narrated as text, never read as a file.
    for script in ("A red digit three moves to the left. Then it stops.", str(secret)):
        r = client.post(
            "/v1/videos",
            json={
                "script": script,
                "width": 96,
                "height": 64,
                "seed": 1,
                "lang": "en",
                "subtitles": "soft",
                "no_voice": not shutil.which("espeak-ng"),
            },
        )
        assert r.status_code == 202, r.text
        job = wait_done(client, r.json()["id"])
        assert job["status"] == "done", job["error"]
        assert {"video", "subtitles_srt", "subtitles_vtt", "storyboard", "thumbnail"} <= set(job["urls"])
        video = client.get(job["urls"]["video"])
        path = tmp_path / "story.mp4"
        path.write_bytes(video.content)
        info = probe_video(path)
        assert (info.width, info.height) == (96, 64) and info.num_frames > 8
        vtt = client.get(job["urls"]["subtitles_vtt"])
        assert (
            vtt.status_code == 200
            and vtt.text.startswith("WEBVTT")
            and vtt.headers["content-type"].startswith("text/vtt")
        )
        srt = client.get(job["urls"]["subtitles_srt"]).text
        assert "-->" in srt and "SECRET" not in srt and "SECRET" not in vtt.text


def test_cancel_running_job_in_a_worker(tmp_path):
    """The worker sees the cancel flag at its next progress report and stops; no output is kept."""
    store = JobStore(tmp_path)
    job_id = store.create("prompt", {"prompt": "x", "seed": 0, "fps": 8.0})
    job = store.claim(worker=os.getpid())
    entered, release = threading.Event(), threading.Event()

    def slow_pipe(prompt, **kw):
        entered.set()
        release.wait(30)
        return np.zeros((1, 4, 16, 16, 3), np.uint8)

    result = {}
    t = threading.Thread(target=lambda: result.setdefault("state", run_job(store, job, slow_pipe)))
    t.start()
    assert entered.wait(30)
    assert store.cancel(job_id).cancel_requested
    assert store.get(job_id).status == "running"  # until the worker notices
    release.set()
    t.join(30)
    assert result["state"] == "cancelled" and store.get(job_id).status == "cancelled"
    assert [p.name for p in (tmp_path / "jobs" / job_id).iterdir()] == ["job.json"]  # no video, no attempt folder


def test_a_stale_claim_never_completes(tmp_path):
    store = JobStore(tmp_path)
    job_id = store.create("prompt", {"prompt": "x", "seed": 0})
    first = store.claim(worker=1)
    assert store.recover() == [job_id]  # "restart": the job is queued again
    second = store.claim(worker=2)
    work = tmp_path / "jobs" / job_id / "w"
    work.mkdir(parents=True)
    (work / VIDEO).write_bytes(b"old")
    assert not store.progress(job_id, first.claim, "generating", 0.5)
    assert not store.complete(job_id, first.claim, work, [VIDEO])
    assert not store.fail(job_id, first.claim, "boom")
    (work / VIDEO).write_bytes(b"new")
    assert store.complete(job_id, second.claim, work, [VIDEO])
    assert not store.complete(job_id, second.claim, work, [VIDEO])  # at most once
    assert (tmp_path / "jobs" / job_id / VIDEO).read_bytes() == b"new"
    assert [e["event"] for e in store.log(job_id)] == ["created", "claimed", "requeued", "claimed", "done"]


def test_claims_are_exclusive_under_concurrency(tmp_path):
    store = JobStore(tmp_path)
    ids = {store.create("prompt", {"prompt": str(i)}) for i in range(40)}
    claimed, lock = [], threading.Lock()

    def worker(n):
        while (job := store.claim(worker=n)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


def test_a_dead_worker_is_replaced_and_its_job_requeued(served):
    client, app, data = served
    pool = app.state.pool
    store = app.state.store
    (pid,) = pool.pids()
    # Pretend the live worker holds a job, then kill it mid-"run": the monitor must re-queue the
    # job and a new worker must run it to completion, once.
    job_id = store.create(
        "prompt",
        {
            "prompt": "a blue seven moves down",
            "seed": 3,
            "fps": 8.0,
            "frames": 4,
            "height": None,
            "width": None,
            "guidance_scale": 1.0,
        },
    )
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        db.execute(
            "UPDATE jobs SET status = 'running', claim = 'gone', worker = ?, attempts = 1 WHERE id = ?", (pid, job_id)
        )
    os.kill(pid, signal.SIGKILL)
    job = wait_done(client, job_id)
    assert job["status"] == "done" and job["attempts"] == 2
    assert pool.pids() != [pid] and pool.alive() == 1
    events = [e["event"] for e in store.log(job_id)]
    assert events.count("requeued") == 1 and events.count("done") == 1


# ---- restart ------------------------------------------------------------------------------------------


def test_restart_runs_queued_and_requeues_running_jobs_once(model_dir, tmp_path):
    data = tmp_path / "data"
    store = JobStore(data)
    params = {"seed": 1, "fps": 8.0, "frames": 4, "height": None, "width": None, "guidance_scale": 1.0}
    running = [store.create("prompt", {**params, "prompt": f"digit {i} moves down"}) for i in range(2)]
    stale = {}
    for _ in running:  # as a crashed server leaves them: claimed by workers that are gone
        job = store.claim(worker=999_999)
        stale[job.id] = job.claim
        (store.job_dir(job.id) / f".attempt-{job.claim}").mkdir(parents=True)  # half-written output
    assert sorted(stale) == sorted(running)
    queued = [store.create("prompt", {**params, "prompt": f"digit {i} is going right"}) for i in range(2)]
    app = create_app(data_dir=data, model=model_dir, workers=2)
    with TestClient(app) as client:
        for job_id in queued + running:
            job = wait_done(client, job_id)
            assert job["status"] == "done", job["error"]
            assert client.get(job["urls"]["video"]).status_code == 200
        # a worker of the old server that wakes up late can no longer complete its job
        for job_id, claim in stale.items():
            assert not store.complete(job_id, claim, store.job_dir(job_id), [VIDEO])
    for job_id in queued + running:
        events = [e["event"] for e in store.log(job_id)]
        assert events.count("done") == 1, events
        assert events.count("requeued") == (1 if job_id in running else 0)
        assert sorted(p.name for p in store.job_dir(job_id).iterdir()) == [
            "job.json",
            "storyboard.png",
            "thumb.png",
            "video.mp4",
        ]


def test_one_server_per_data_dir(model_dir, tmp_path):
    from vidfuse.errors import InputError

    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0)):
        with pytest.raises(InputError, match="another vidfuse server"):
            with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0)):
                pass


# ---- queue, cancel, limits, auth, paths (no worker needed) -------------------------------------------


@pytest.fixture()
def idle(model_dir, tmp_path):
    """A client whose server stores jobs but runs none (workers=0), queue size 2."""
    with TestClient(create_app(data_dir=tmp_path / "data", model=model_dir, workers=0, queue_size=2)) as client:
        yield client


def test_queue_full_is_429_with_retry_after(idle):
    for i in range(2):
        assert idle.post("/v1/videos", json={"prompt": f"digit {i}"}).status_code == 202
    r = idle.post("/v1/videos", json={"prompt": "one too many"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "queue" in r.json()["detail"]
    assert idle.get("/v1/jobs").json()["counts"]["queued"] == 2


def test_cancel_queued_job(idle):
    job = idle.post("/v1/videos", json={"prompt": "digit 5 is going right"}).json()
    assert job["status"] == "queued" and job["queue_position"] == 1
    r = idle.delete(f"/v1/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert idle.get(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"
    assert idle.delete(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"  # idempotent
    assert idle.get(f"/v1/jobs/{job['id']}/video").status_code == 409
    events = sse_events(idle, job["id"])
    assert [n for n, _ in events] == ["cancelled"]
    assert idle.delete("/v1/jobs/" + "0" * 32).status_code == 404


@pytest.mark.parametrize(
    "body, limit",
    [
        ({"prompt": "x" * 301}, "max_prompt_chars"),
        ({"prompt": "digit 3 " * 10}, "max_text_len"),  # 80 characters: over the tiny model's 48 tokens
        ({"script": "word " * 4001}, "max_script_chars"),
        ({"prompt": "digit 3", "frames": 129}, "max_frames"),
        ({"prompt": "digit 3 moving left for 100 seconds"}, "max_frames"),  # a length in words is a length
        ({"prompt": "digit 3, 200 frames"}, "max_frames"),
        ({"prompt": "digit 3", "height": 16, "width": 2000}, "max_side"),
        ({"prompt": "digit 3", "height": 8, "width": 16}, "min_side"),
        ({"prompt": "digit 3", "height": 1280, "width": 1280}, "max_pixels"),
        ({"prompt": "digit 3", "fps": 31}, "max_fps"),
        ({"prompt": "digit 3", "guidance_scale": 50}, "max_guidance_scale"),
        ({"script": "A story.", "rate": 900}, "max_rate"),
    ],
)
def test_limits_are_422_naming_the_limit(idle, body, limit):
    r = idle.post("/v1/videos", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["limit"] == limit and limit in r.json()["detail"]
    m = r.json()["max"]
    assert (f"{m:g}" if isinstance(m, float) else str(m)) in r.json()["detail"]
    assert "--truncate" not in r.json()["detail"]  # the command line's option; the service cuts nothing


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prompt": "   "},
        {"prompt": "a", "script": "b"},
        {"prompt": "a", "aspect": "4:3"},
        {"prompt": "a", "lang": "zh"},
        {"script": "a", "guidance_scale": 2},
        {"prompt": "a", "seed": -1},
        {"prompt": "digit 3 for -3 seconds"},
        {"prompt": "a", "steps": 4},
        {"prompt": "a", "negative_prompt": "blur"},
        {"script": "a", "model": "nope"},
        {"prompt": "a", "height": 32},
        {"prompt": "a", "aspect": "1:1", "height": 32, "width": 32},
        {"script": "a", "height": 33, "width": 32},
        {"script": "a", "voice": "en; rm -rf /"},
        {"prompt": 3},
        {"prompt": "a", "subtitles": "soft"},
        {"prompt": "a", "frames": True},  # a probe: JSON true was 1 frame, and "seed": true seed 1
        {"prompt": "a", "seed": True},
        {"prompt": "a", "frames": "16"},
        {"prompt": "\u200b\u200b"},  # a probe: only zero-width spaces drew a digit
        {"prompt": "\u2060\ufeff"},
    ],
)
def test_bad_requests_are_422(idle, body):
    r = idle.post("/v1/videos", json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_voice_and_music_are_chosen_from_what_info_offers(idle):
    from vidfuse.media.speech import installed_voices
    from vidfuse.story.music import moods

    info = idle.get("/v1/info").json()
    assert info["music"] == moods() + ["none"]
    offered = [v["voice"] for v in info["voices"]]
    assert len(offered) == len({v.name if v.engine == "piper" else v.voice for v in installed_voices()})
    assert not [v for v in offered if "/" in v]  # names, never a server path
    r = idle.post("/v1/videos", json={"script": "Hello.", "music": "jazzy"})
    assert r.status_code == 422 and "'jazzy'" in r.json()["detail"] and "none" in r.json()["detail"]
    assert all(m in r.json()["detail"] for m in moods())
    r = idle.post("/v1/videos", json={"script": "Hello.", "voice": "nobody"})
    assert r.status_code == 422 and "'nobody'" in r.json()["detail"]
    assert all(v in r.json()["detail"] for v in offered)
    good = {"script": "Hello.", "music": (moods() or ["none"])[0]}
    if offered:
        good["voice"] = offered[0]
    r = idle.post("/v1/videos", json=good)
    assert r.status_code == 202, r.text
    assert {k: r.json()["params"][k] for k in good} == good


def test_list_limits(idle):
    assert idle.get("/v1/jobs?limit=1000").status_code == 422
    assert idle.get("/v1/jobs?status=bogus").status_code == 422


def test_path_traversal_is_refused(idle, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    job_id = idle.post("/v1/videos", json={"prompt": "digit 1"}).json()["id"]
    for url in [
        "/v1/jobs/..%2F..%2Fsecret.txt",
        "/v1/jobs/%2e%2e%2f%2e%2e%2fsecret.txt/video",
        "/v1/jobs/%2e%2e/video",
        f"/v1/jobs/{job_id}%2f..%2f..%2fjobs.sqlite3",
        "/v1/jobs/..%252f..%252fsecret.txt/video",
        f"/v1/jobs/{job_id}/..%2f..%2fjobs.sqlite3",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2fjobs.py",
        "/static/..%2F..%2Fsecret.txt",
        f"/static/{secret}",
        f"/v1/jobs/{secret}/video",
        "/static/%2Fetc%2Fpasswd",
    ]:
        r = idle.get(url)
        assert r.status_code in (404, 405, 422), (url, r.status_code)
        assert b"TOP SECRET" not in r.content and b"SQLite" not in r.content and b"import" not in r.content
    r = idle.get(f"/v1/jobs/{job_id}/subtitles?format=../../../secret.txt")
    assert r.status_code == 422
    # file-system fields do not exist in the API: unknown fields are refused
    for extra in (
        {"output": str(secret)},
        {"model": str(tmp_path)},
        {"image": str(secret)},
        {"music": str(secret)},
        {"data_dir": "/tmp"},
        {"id": "../../x"},
    ):
        r = idle.post("/v1/videos", json={"prompt": "digit 1", **extra})
        assert r.status_code == 422 and next(iter(extra)) in r.json()["detail"]
    assert secret.read_text(encoding="utf-8") == "TOP SECRET"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "secret.txt"]


def test_token_on(model_dir, tmp_path):
    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0, token="s3cret-token")) as client:
        assert client.get("/").status_code == 200  # the page loads and asks for the token
        assert client.get("/static/app.js").status_code == 200
        r = client.get("/v1/jobs")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert "needs a token" in r.json()["detail"]
        wrong = client.get("/v1/jobs", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401 and "not this server's" in wrong.json()["detail"]  # not "needs a token"
        assert client.get("/v1/jobs", headers={"Authorization": "Basic s3cret-token"}).status_code == 401
        assert client.post("/v1/videos", json={"prompt": "digit 1"}).status_code == 401
        auth = {"Authorization": "Bearer s3cret-token"}
        assert client.get("/v1/jobs", headers=auth).status_code == 200
        r = client.post("/v1/videos", json={"prompt": "digit 1"}, headers=auth)
        assert r.status_code == 202
        job_id = r.json()["id"]
        # the token never travels in a URL (media URLs are signed instead: test_server_hardening.py)
        assert client.get(f"/v1/jobs/{job_id}?access_token=s3cret-token").status_code == 401
        assert client.post("/v1/videos?access_token=s3cret-token", json={"prompt": "digit 2"}).status_code == 401
        assert client.delete(f"/v1/jobs/{job_id}?access_token=s3cret-token").status_code == 401
        assert client.delete(f"/v1/jobs/{job_id}", headers=auth).status_code == 200


def test_token_off_and_docs(idle):
    assert idle.get("/v1/jobs").status_code == 200
    assert idle.get("/v1/info").json()["limits"]["max_prompt_chars"] == 300
    page = idle.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert "<video" in page.text and "/static/app.js" in page.text and "http" not in page.text.split("<body>")[1]
    spec = idle.get("/openapi.json").json()
    assert {
        "/v1/videos",
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/video",
        "/v1/jobs/{job_id}/events",
        "/v1/jobs/{job_id}/subtitles",
    } <= set(spec["paths"])
    docs = idle.get("/docs")
    assert docs.status_code == 200 and "/v1/videos" in docs.text and "<script" not in docs.text


def test_custom_limits(model_dir, tmp_path):
    app = create_app(data_dir=tmp_path, model=model_dir, workers=0, limits=Limits(max_prompt_chars=10))
    with TestClient(app) as client:
        r = client.post("/v1/videos", json={"prompt": "digit 3 moving"})
        assert r.status_code == 422 and r.json()["max"] == 10


def test_missing_model_fails_at_once(tmp_path):
    from vidfuse.errors import InputError

    with pytest.raises(InputError, match="not a vidfuse model folder"):
        create_app(data_dir=tmp_path, model=tmp_path / "nothing")


# ---- the real command: kill -9 mid-job, restart, Ctrl+C ---------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_cli(model_dir, data, port):
    import subprocess
    import sys

    import httpx

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vidfuse.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--model",
            str(model_dir),
            "--workers",
            "1",
            "--allowed-host",
            "video.example.org",
            "--allowed-host",
            "[fd00::7]",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "vidfuse serve exited at start-up"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("vidfuse serve did not start")


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_cli_serve_killed_mid_job_then_restarted(model_dir, tmp_path):
    import httpx

    from vidfuse.media.video_io import probe_video

    data, port = tmp_path / "data", _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_cli(model_dir, data, port)
    try:
        job_id = httpx.post(
            f"{base}/v1/videos",
            json={"prompt": "digit 5 is going right", "frames": 64, "height": 192, "width": 320, "seed": 2},
        ).json()["id"]
        deadline = time.monotonic() + TIMEOUT_S
        while httpx.get(f"{base}/v1/jobs/{job_id}").json()["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        worker = JobStore(data).get(job_id).worker
        os.kill(server.pid, signal.SIGKILL)  # the server dies mid-job; its worker notices and stops
        assert JobStore(data).get(job_id).status == "running"
        server.wait(10)
        server = _start_cli(model_dir, data, port)
        job = wait_done(httpx.Client(base_url=base), job_id)
        assert job["status"] == "done", job["error"]
        assert job["crashes"] == 0  # the server was killed, not the job's worker: no crash is charged
        # --allowed-host adds names; any other Host is refused (DNS rebinding)
        for host, status in (("video.example.org", 200), (f"[fd00::7]:{port}", 200), ("evil.example", 400)):
            assert httpx.get(f"{base}/v1/jobs/{job_id}", headers={"Host": host}).status_code == status, host
        events = [e["event"] for e in JobStore(data).log(job_id)]
        assert events.count("done") == 1, events
        path = tmp_path / "v.mp4"
        path.write_bytes(httpx.get(f"{base}/v1/jobs/{job_id}/video").content)
        assert probe_video(path).num_frames == 64
        assert _gone(worker)  # the orphaned worker exited by itself
        new_worker = JobStore(data).get(job_id).worker
        # Ctrl+C reaches the whole process group: the server stops its workers and exits cleanly
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(30) == 0
        assert new_worker is None or _gone(new_worker)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)


def test_the_server_serves_the_installed_default_model_when_there_is_one(tmp_path):
    from vidfuse.pipeline import SHIPPED_MODEL_DIR, install_default_model
    from vidfuse.server.served import served_models

    served, default = served_models(None, tmp_path / "no-models")
    assert served[default].info.path == SHIPPED_MODEL_DIR
    installed = install_default_model(tiny_pipeline("gan").save_pretrained(tmp_path / "m"))
    served, default = served_models(None, tmp_path / "no-models")
    assert served[default].info.path == installed != SHIPPED_MODEL_DIR and served[default].info.family == "vidfuse gan"


def test_denoising_steps_show_in_the_job_and_its_events(idle, tmp_path):
    from vidfuse.server.runners import denoising_progress

    job = idle.post("/v1/videos", json={"prompt": "digit 5 is going right"}).json()
    store = JobStore(tmp_path / "data", create=False)
    claimed = store.claim(worker=os.getpid())
    on_step = denoising_progress(lambda stage, f: store.progress(claimed.id, claimed.claim, stage, f), 0.05, 0.7)
    on_step(3, 20)
    shown = idle.get(f"/v1/jobs/{job['id']}").json()
    assert shown["stage"] == "denoising 3/20" and shown["progress"] == pytest.approx(14.8, abs=0.05)

    def later():  # while the events stream is open: one more step, then the job ends
        time.sleep(0.5)
        on_step(4, 20)
        time.sleep(0.5)
        store.fail(claimed.id, claimed.claim, "stopped by the test")

    threading.Thread(target=later, daemon=True).start()
    events = sse_events(idle, job["id"])
    stages = [body["stage"] for name, body in events if name == "progress"]
    assert stages == ["denoising 3/20", "denoising 4/20"] and events[-1][0] == "failed"


def test_guidance_for_a_model_that_draws_in_one_pass_is_422_not_a_failed_job(idle):
    """A probe got 202 and then a failed job; the CLI refuses the same up front."""
    r = idle.post("/v1/videos", json={"prompt": "digit 3", "guidance_scale": 2})
    assert r.status_code == 422 and "one pass" in r.json()["detail"]
    assert idle.post("/v1/videos", json={"prompt": "digit 3", "guidance_scale": 1}).status_code == 202


def test_messages_say_what_happened(idle):
    """A probe: malformed JSON was "1: JSON decode error"; a cancelled job's video was "its files exist once it
    is done"."""
    r = idle.post("/v1/videos", content=b'{"prompt": "a red 3",', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body: the body is not valid JSON"), r.text
    job = idle.post("/v1/videos", json={"prompt": "digit 3"}).json()
    assert idle.delete(f"/v1/jobs/{job['id']}").status_code in (200, 202, 204)
    r = idle.get(f"/v1/jobs/{job['id']}/video")
    assert r.status_code == 409 and "was cancelled, so it has no files" in r.json()["detail"], r.text


def test_unknown_words_are_told_in_the_apis_words(idle):
    """A probe: a job's warning told an HTTP client to "pass --model DIR"."""
    job = idle.post("/v1/videos", json={"prompt": "a cat playing the piano"}).json()
    warning = " ".join(idle.get(f"/v1/jobs/{job['id']}").json()["warnings"])
    assert "playing" in warning and '"model": NAME' in warning and "--model" not in warning


def test_what_a_run_warns_of_reaches_the_jobs_json(tmp_path, monkeypatch):
    """A story narrated in Chinese by the English voice: the run warns, and the job's JSON says so."""
    from vidfuse.media.speech import LanguageWarning
    from vidfuse.server import runners
    from vidfuse.server.schemas import job_json

    def narrated(job, pipe, work, progress):
        warnings.warn("lang='en' but the text is in Chinese", LanguageWarning, stacklevel=2)
        # said at submission already: the log's, not the JSON's
        warnings.warn("a word it never saw", UserWarning, stacklevel=2)
        (work / VIDEO).write_bytes(b"video")
        return [VIDEO]

    monkeypatch.setattr(runners, "_run_script", narrated)
    store = JobStore(tmp_path)
    job_id = store.create("script", {"script": "红色的3往左移动。", "seed": 0, "lang": "en"})
    assert run_job(store, store.claim(worker=1), pipe=None) == "done"
    job = store.get(job_id)
    assert job.params["run_warnings"] == ["lang='en' but the text is in Chinese"]
    assert job_json(job, store=store)["warnings"] == ["lang='en' but the text is in Chinese"]
