"""vidfuse serve under hostile or broken conditions: what the guard in front of the app refuses
(foreign Host, no token, oversized bodies: all before the body is read), values JSON allows but
the API cannot use (NaN, lone surrogates), HEAD, signed media URLs, errors without server paths,
stories checked before they are accepted, a lost or corrupt job database, and which failures
count against a job.

The hostile cases run against a real uvicorn server over a socket; the rest use Starlette's
test client, the ASGI app directly, or the job store.
"""

import asyncio
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient as _TestClient

from vidfuse.errors import InputError, VidfuseError
from vidfuse.server.app import create_app, serve_in_background
from vidfuse.server.datafolder import JOB_FILE, SCHEMA_VERSION, STORYBOARD, THUMB, VIDEO
from vidfuse.server.runners import public_error, run_job
from vidfuse.server.schemas import Limits
from vidfuse.server.store import JobStore

pytestmark = pytest.mark.slow
TOKEN = "hostile-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SMALL_BODY = 64 * 1024  # the live server's body limit, so that tests send little


def TestClient(app, base_url="http://localhost", **kwargs):
    return _TestClient(app, base_url=base_url, **kwargs)


@pytest.fixture(scope="module")
def live(model_dir, tmp_path_factory):
    """(base URL, app) of a real uvicorn server with a token and no workers."""
    data = tmp_path_factory.mktemp("live") / "data"
    app = create_app(data_dir=data, model=model_dir, workers=0, token=TOKEN, limits=Limits(max_body_bytes=SMALL_BODY))
    with serve_in_background(app) as base:
        yield base, app


def done_job(store: JobStore, files=(VIDEO, THUMB, STORYBOARD), prompt="digit 1") -> str:
    """A job that is done, with small stand-in output files."""
    job_id = store.create("prompt", {"prompt": prompt, "seed": 1, "fps": 8.0})
    job = store.claim(worker=1)
    assert job.id == job_id, "another job was queued"
    work = store.job_dir(job_id) / f".attempt-{job.claim}"
    work.mkdir(parents=True)
    for name in files:
        (work / name).write_bytes(name.encode() * 100)
    assert store.complete(job_id, job.claim, work, list(files))
    return job_id


# ---- raw HTTP over a socket -------------------------------------------------------------------------


def _address(base: str) -> tuple[str, int]:
    host, port = base.split("//")[1].split(":")
    return host, int(port)


def _headers(head: bytes) -> dict[str, str]:
    pairs = (line.decode("latin-1").split(": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    return {name.lower(): value for name, value in pairs}


def _read_response(sock: socket.socket, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (the server may reset the connection after it)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        headers = _headers(head)
        while len(body) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except ConnectionResetError:
        head, _, body = data.partition(b"\r\n\r\n")
        headers = _headers(head)
    assert head, "no response"
    return int(head.split(b" ")[1]), headers, body


def push_body(base: str, head: bytes, body_total: int, *, chunked: bool) -> tuple[int, dict, bytes, int]:
    """Send ``head`` then try to send ``body_total`` bytes of body from a thread, while reading the answer.

    Returns (status, headers, body, bytes of body the kernel took before the server hung up)."""
    sock = socket.create_connection(_address(base), timeout=30)
    sent = [0]

    def pusher():
        piece = b"x" * 65536
        frame = (b"%x\r\n" % len(piece)) + piece + b"\r\n" if chunked else piece
        try:
            while sent[0] < body_total:
                sock.sendall(frame)
                sent[0] += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: what we want
            pass

    sock.sendall(head)
    t = threading.Thread(target=pusher, daemon=True)
    t.start()
    try:
        status, headers, body = _read_response(sock)
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # stops the pusher
        except OSError:  # already reset by the server
            pass
        sock.close()
        t.join(30)
    return status, headers, body, sent[0]


def _post_head(length: int | None, *, auth: bool, host: str = "127.0.0.1") -> bytes:
    lines = [b"POST /v1/videos HTTP/1.1", b"Host: " + host.encode(), b"Content-Type: application/json"]
    if auth:
        lines.append(b"Authorization: Bearer " + TOKEN.encode())
    lines.append(b"Content-Length: %d" % length if length is not None else b"Transfer-Encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n"


# ---- 1. an oversized body, with and without a token -------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_unauthenticated_200_mb_post_is_refused_before_its_body_is_read(live, chunked):
    base, _ = live
    total = 200 * 1024 * 1024
    status, headers, body, sent = push_body(
        base, _post_head(None if chunked else total, auth=False), total, chunked=chunked
    )
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    assert "token" in json.loads(body)["detail"]
    # the server hung up at once: what the client got out is what the sockets' buffers hold, not 200 MB
    assert sent < 32 * 1024 * 1024, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_body_is_413_for_everyone(live, chunked):
    base, _ = live
    total = 200 * 1024 * 1024
    status, _, body, sent = push_body(base, _post_head(None if chunked else total, auth=True), total, chunked=chunked)
    assert status == 413
    answer = json.loads(body)
    assert answer["limit"] == "max_body_bytes" and answer["max"] == SMALL_BODY and "65,536" in answer["detail"]
    assert sent < 32 * 1024 * 1024, sent


def _asgi_call(app, scope_extra: dict, chunks: list[bytes]) -> tuple[int, dict, int]:
    """Call the ASGI app with a body given chunk by chunk; returns (status, answer, chunks it read)."""
    reads, sent = [0], []

    async def receive():
        if reads[0] < len(chunks):
            reads[0] += 1
            return {"type": "http.request", "body": chunks[reads[0] - 1], "more_body": reads[0] < len(chunks)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/videos",
        "raw_path": b"/v1/videos",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        **scope_extra,
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), reads[0]


@pytest.mark.parametrize(
    "token, auth, length, expect, max_reads",
    [
        (TOKEN, False, str(200 * 1024 * 1024), 401, 0),  # no token: not one byte of the body is read
        (TOKEN, False, None, 401, 0),  # the same, chunked (no Content-Length)
        (TOKEN, True, str(200 * 1024 * 1024), 413, 0),  # Content-Length over the limit: refused unread
        (TOKEN, True, None, 413, 1 + SMALL_BODY // 4096),  # chunked: read only up to the limit
        (None, False, None, 413, 1 + SMALL_BODY // 4096),  # no token configured: the limit still holds
    ],
)
def test_the_guard_reads_no_body_before_the_token_and_none_past_the_limit(
    model_dir, tmp_path, token, auth, length, expect, max_reads
):
    app = create_app(
        data_dir=tmp_path, model=model_dir, workers=0, token=token, limits=Limits(max_body_bytes=SMALL_BODY)
    )
    headers = [(b"host", b"localhost"), (b"content-type", b"application/json")]
    headers += [(b"authorization", f"Bearer {TOKEN}".encode())] if auth else []
    headers += [(b"content-length", length.encode())] if length else [(b"transfer-encoding", b"chunked")]
    chunks = [b" " * 4096] * (200 * 1024 * 1024 // 4096)  # 200 MB in 4 kB pieces, handed out on demand
    status, answer, reads = _asgi_call(app, {"headers": headers}, chunks)
    assert status == expect, answer
    assert reads <= max_reads


# ---- 2. the Host header -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]", "10.0.0.1", ""],
)
@pytest.mark.parametrize(
    "method, path",
    [("GET", "/v1/jobs"), ("POST", "/v1/videos"), ("GET", "/"), ("GET", "/healthz"), ("GET", "/openapi.json")],
)
def test_a_foreign_host_is_400(live, host, method, path):
    """A page of another site that rebinds its name to 127.0.0.1 sends its own name as Host."""
    base, app = live
    done_job(app.state.store, prompt="a secret prompt")
    sock = socket.create_connection(_address(base), timeout=30)
    body = b'{"prompt": "digit 1"}'
    version = "1.1" if host else "1.0"  # HTTP/1.1 without a Host is refused by uvicorn itself
    request = (
        f"{method} {path} HTTP/{version}\r\n"
        + (f"Host: {host}\r\n" if host else "")
        + f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if method == 'POST' else 0}\r\n\r\n"
    ).encode()
    sock.sendall(request + (body if method == "POST" else b""))
    try:
        status, headers, answer = _read_response(sock)
    finally:
        sock.close()
    assert status == 400 and headers["content-type"] == "application/json"
    assert b"\n" not in answer and b"secret" not in answer and b"digit" not in answer
    detail = json.loads(answer)["detail"]
    assert "host name" in detail and "--allowed-host" in detail


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:{port}", "127.0.0.1:{port}", "[::1]:{port}", "localhost."])
def test_the_loopback_names_are_served(live, host):
    import httpx

    base, _ = live
    r = httpx.get(base + "/v1/jobs", headers={**AUTH, "Host": host.format(port=_address(base)[1])})
    assert r.status_code == 200


def test_allowed_hosts_add_names(model_dir, tmp_path):
    app = create_app(
        data_dir=tmp_path / "a", model=model_dir, workers=0, allowed_hosts=["Video.Example.org", "[fd00::5]"]
    )
    with TestClient(app, base_url="http://video.example.org:8000") as client:
        assert client.get("/v1/jobs").status_code == 200
        assert client.get("/v1/jobs", headers={"Host": "[fd00::5]:8000"}).status_code == 200
        assert client.get("/v1/jobs", headers={"Host": "example.org"}).status_code == 400
    with TestClient(
        create_app(data_dir=tmp_path / "b", model=model_dir, workers=0, allowed_hosts=["*"]),
        base_url="http://anything.example",
    ) as client:
        assert client.get("/v1/jobs").status_code == 200
    for bad in ("a b", "x/y", ""):
        with pytest.raises(InputError, match="not a host name"):
            create_app(data_dir=tmp_path / "c", model=model_dir, workers=0, allowed_hosts=[bad])


# ---- 3. values JSON allows but the API cannot use ---------------------------------------------------


@pytest.mark.parametrize(
    "raw, field, says",
    [
        (b'{"prompt": "digit 1", "fps": NaN}', "fps", "finite number"),
        (b'{"prompt": "digit 1", "guidance_scale": NaN}', "guidance_scale", "finite number"),
        (b'{"prompt": "digit 1", "fps": Infinity}', "fps", "finite number"),
        (b'{"prompt": "digit 1", "guidance_scale": -Infinity}', "guidance_scale", "finite number"),
        (b'{"prompt": "digit \\ud800 one"}', "prompt", "lone surrogate"),
        (b'{"prompt": "\\udfff"}', "prompt", "lone surrogate"),
        (b'{"script": "A story.\\ud83d"}', "script", "lone surrogate"),
        (b'{"prompt": "digit 1", "\\ud800": 1}', "body", "lone surrogate"),
        (b'{"prompt": "digit 1", "aspect": "\\ud800"}', "aspect", "lone surrogate"),
        (b'{"prompt": "digit\\u0000 1"}', "prompt", "control character"),
        (b'{"prompt": "digit 1", "voice": "en\\u0007"}', "voice", "control character"),
        (b'{"prompt": "a\\u0085digit"}', "prompt", "control character"),  # C1: the pipeline refuses it too
        (b'{"prompt": "a\\ue000 digit"}', "prompt", "private-use"),
        (b'{"prompt": "digit 1", "fps": 0.0001}', "fps", "greater than or equal to 1"),  # write_video's floor
    ],
)
def test_nan_and_lone_surrogates_are_422_with_a_readable_message(live, raw, field, says):
    import httpx

    base, app = live
    before = app.state.store.counts()
    r = httpx.post(base + "/v1/videos", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert detail.startswith(field + ":") and says in detail, detail
    assert app.state.store.counts() == before  # nothing was stored


def test_a_surrogate_pair_is_fine(live):
    import httpx

    base, _ = live
    r = httpx.post(
        base + "/v1/videos",
        content=b'{"prompt": "digit 1 \\ud83d\\ude00"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 202, r.text
    assert r.json()["params"]["prompt"] == "digit 1 \U0001f600"
    httpx.delete(base + f"/v1/jobs/{r.json()['id']}", headers=AUTH)  # done_job claims the oldest queued job


# ---- 4. HEAD -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/static/app.js",
        "/healthz",
        "/docs",
        "/openapi.json",
        "/v1/info",
        "/v1/jobs",
        "{job}",
        "{job}/video",
        "{job}/thumbnail",
        "{job}/storyboard",
    ],
)
def test_head_answers_like_get_without_a_body(model_dir, tmp_path, path):
    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0)) as client:
        job_id = done_job(client.app.state.store)
        url = path.format(job=f"/v1/jobs/{job_id}")
        get, head = client.get(url), client.head(url)
        assert get.status_code == head.status_code == 200
        assert head.content == b""
        for name in ("content-type", "content-length", "accept-ranges", "cache-control"):
            assert head.headers.get(name) == get.headers.get(name), name
        assert client.head(url, headers={"Host": "evil.example"}).status_code == 400


def test_head_on_the_live_server_with_signed_urls(live):
    import httpx

    base, app = live
    job_id = done_job(app.state.store)
    with httpx.Client(base_url=base) as http:
        page = http.head("/")
        assert page.status_code == 200 and page.content == b"" and int(page.headers["content-length"]) > 1000
        video = http.get(f"/v1/jobs/{job_id}", headers=AUTH).json()["urls"]["video"]
        head = http.head(video)
        assert head.status_code == 200 and head.headers["content-type"] == "video/mp4"
        assert int(head.headers["content-length"]) == len(VIDEO.encode()) * 100 and head.content == b""
        ranged = http.head(video, headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206 and ranged.headers["content-length"] == "10"
        assert http.head(f"/v1/jobs/{job_id}/video").status_code == 401  # neither signed nor a token
        # HEAD on the event stream answers at once instead of streaming for an hour
        t0 = time.monotonic()
        assert http.head(http.get(f"/v1/jobs/{job_id}", headers=AUTH).json()["urls"]["events"]).status_code == 200
        assert time.monotonic() - t0 < 10


# ---- 5. signed media URLs instead of ?access_token= --------------------------------------------------


def test_media_urls_are_signed_and_carry_no_token(model_dir, tmp_path):
    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0, token=TOKEN)) as client:
        store, signer = client.app.state.store, client.app.state.signer
        job_id = done_job(store, files=(VIDEO, THUMB, STORYBOARD, "subtitles.vtt"))
        other = done_job(store)
        job = client.get(f"/v1/jobs/{job_id}", headers=AUTH).json()
        for key in ("video", "thumbnail", "storyboard", "subtitles_vtt", "events"):
            url = job["urls"][key]
            assert "sig=" in url and "exp=" in url and TOKEN not in url and "access_token" not in url
            r = client.get(url)  # no Authorization header: the signature is the credential
            assert r.status_code == 200, (key, r.text)
        listed = client.get("/v1/jobs", headers=AUTH).json()["jobs"]
        assert all("sig=" in j["urls"]["thumbnail"] for j in listed)
        assert client.get(job["urls"]["video"] + "&download=1").headers["content-disposition"].startswith("attachment")

        video = job["urls"]["video"]
        path, _, query = video.partition("?")
        bad_sig = video[:-4] + ("0000" if not video.endswith("0000") else "1111")
        for url in (
            path,  # unsigned
            bad_sig,  # tampered
            path.replace("/video", "/thumbnail") + "?" + query,  # another file of the job
            path.replace(job_id, other) + "?" + query,  # another job
            signer.sign(path, now=time.time() - 3 * 3600),  # expired
            f"/v1/jobs/{job_id}?{query}",  # not a media URL
            f"/v1/jobs?{query}",
            f"{path}?exp=%C2%B2&sig=x",  # a digit int() refuses
            f"{path}?exp=99999999999&sig=%E2%82%AC",  # a sig outside Latin-1
            f"{path}?exp=99999999999&sig={'A' * 32}",
        ):  # not lower-case hex
            assert client.get(url).status_code == 401, url
        assert client.delete(f"/v1/jobs/{job_id}?{query}").status_code == 401  # GET and HEAD only
        # a URL made now stays the same for a while (browsers cache thumbnails)
        assert signer.sign(path) == signer.sign(path, now=time.time() + 1)


# ---- 6. no server paths in a job's error ------------------------------------------------------------


def _fail_with(store: JobStore, make_error, kind="prompt", params=None) -> str:
    job_id = store.create(kind, params or {"prompt": "digit 1", "seed": 1, "fps": 8.0})
    job = store.claim(worker=os.getpid())
    work = store.job_dir(job_id) / f".attempt-{job.claim}"

    def pipe(*args, **kwargs):
        raise make_error(work, store)

    assert run_job(store, job, pipe) == "failed"
    return store.get(job_id).error


@pytest.mark.parametrize(
    "make_error, shown",
    [
        (
            lambda work, store: InputError(f"cannot write {work / VIDEO}: no space left on the device"),
            "cannot write video.mp4",
        ),
        (
            lambda work, store: OSError(
                f"[Errno 2] No such file: '{store.data_dir.resolve() / 'jobs' / 'x' / 'frame.png'}'"
            ),
            "jobs/x/frame.png",
        ),
        (
            lambda work, store: InputError("cannot load the model /home/someone/models/tiny: truncated file"),
            "cannot load the model tiny: truncated file",
        ),
    ],
)
def test_a_failed_job_shows_no_server_path(tmp_path, make_error, shown):
    store = JobStore(tmp_path / "data")
    error = _fail_with(store, make_error)
    assert shown in error
    assert str(tmp_path) not in error and "/home/" not in error and ".attempt-" not in error


def test_a_script_job_failing_in_the_worker_names_the_script_not_its_path(tmp_path):
    pytest.importorskip("vidfuse.story.compose")
    store = JobStore(tmp_path / "data")
    # a job queued by an older server, before scripts were checked on submission
    job_id = store.create(
        "script",
        {
            "script": '[{"narration": "hi", "colour": "red"}]',
            "seed": 1,
            "fps": 8.0,
            "lang": "en",
            "subtitles": "none",
            "no_voice": True,
            "aspect": "16:9",
        },
    )
    job = store.claim(worker=os.getpid())
    assert run_job(store, job, pipe=None) == "failed"
    error = store.get(job_id).error
    assert "the script" in error and "colour" in error and "/" not in error


def test_public_error_leaves_other_text_alone():
    text = "fps 1/2 and http://example.org/a/b and and/or stay; /srv/data/jobs/abc/.attempt-1/script.json goes"
    out = public_error(text, (Path("/srv/data"),))
    assert out == "fps 1/2 and http://example.org/a/b and and/or stay; jobs/abc/.attempt-1/script.json goes"
    assert public_error("see /etc/x/passwd, then") == "see passwd, then"


# ---- 7. a story is checked before it is accepted -----------------------------------------------------


@pytest.mark.parametrize(
    "script, expect",
    [
        ('[{"narration": "hi", "colour": "red"}]', "unknown field"),
        ('[{"narration": "hi", "duration": "long"}]', "duration"),
        ('[{"narration": "hi", "duration": 1e9}]', "duration"),
        ('[{"narration": 3}]', "narration"),
        ('[{"narration": "hi"}, ]', "JSON but is not valid"),
        ('[{"prompt": "a red 3"}]', 'no "narration"'),
        ("\n\n".join(f"Scene {i}: the red digit {i % 10} moves left." for i in range(89)), "scenes"),
        (json.dumps([{"narration": f"Scene {i}."} for i in range(89)]), "scenes"),
        ("... !!! ???", "no words"),
        (json.dumps([{"narration": "A red three.", "duration": 40}] * 20), "MAX_STORY_SECONDS"),  # 13 minutes
        ("A " + "very " * 3000 + "long sentence.", "MAX_STORY_SECONDS"),  # one 15,000-character sentence
    ],
)
def test_a_bad_story_is_422_and_not_queued(model_dir, tmp_path, script, expect):
    pytest.importorskip("vidfuse.story.compose")
    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0)) as client:
        r = client.post("/v1/videos", json={"script": script, "no_voice": True})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert expect.lower() in detail.lower() and str(tmp_path) not in detail, detail
        assert client.get("/v1/jobs").json()["counts"]["queued"] == 0


def test_a_good_story_is_accepted(model_dir, tmp_path):
    pytest.importorskip("vidfuse.story.compose")
    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0)) as client:
        for script in (
            "A red digit three moves to the left.\n\nThen it stops.",
            '[{"narration": "A red three.", "prompt": "the red digit 3 is moving to the left", "duration": 3}]',
        ):
            assert client.post("/v1/videos", json={"script": script, "no_voice": True}).status_code == 202


# ---- 8. the job database: lost, corrupt, upgraded ----------------------------------------------------


def _fifteen_jobs(data: Path) -> dict[str, str]:
    """15 jobs in every state, as a running server leaves them; returns id → status."""
    store = JobStore(data)
    states = {}
    for i in range(6):
        states[done_job(store, prompt=f"done {i}")] = "done"
    for i in range(3):
        job_id = store.create("prompt", {"prompt": f"failed {i}", "seed": 1})
        store.fail(job_id, store.claim(worker=1).claim, "it failed")
        states[job_id] = "failed"
    for i in range(2):
        job_id = store.create("prompt", {"prompt": f"cancelled {i}", "seed": 1})
        store.cancel(job_id)
        states[job_id] = "cancelled"
    for i in range(2):
        states[store.create("prompt", {"prompt": f"running {i}", "seed": 1})] = "running"
        store.claim(worker=1)
    for i in range(2):
        states[store.create("prompt", {"prompt": f"queued {i}", "seed": 1})] = "queued"
    assert store.counts() == {"queued": 2, "running": 2, "done": 6, "failed": 3, "cancelled": 2}
    return states


def _check_recovered(client, states: dict[str, str]) -> None:
    jobs = {j["id"]: j for j in client.get("/v1/jobs?limit=100").json()["jobs"]}
    assert set(jobs) == set(states)
    for job_id, status in states.items():
        # a job that was running when the database went is queued again
        assert jobs[job_id]["status"] == ("queued" if status == "running" else status), (job_id, jobs[job_id])
    done = next(j for j in states if states[j] == "done")
    assert client.get(f"/v1/jobs/{done}/video").status_code == 200
    assert client.get(f"/v1/jobs/{next(j for j in states if states[j] == 'failed')}").json()["error"] == "it failed"
    # queue order and list order are creation order
    queued = [j for j in states if states[j] in ("running", "queued")]
    assert [client.get(f"/v1/jobs/{j}").json()["queue_position"] for j in queued] == [1, 2, 3, 4]


@pytest.mark.parametrize("wal_left", [False, True], ids=["alone", "its-wal-left-behind"])
def test_a_deleted_database_is_rebuilt_from_the_job_folders(model_dir, tmp_path, caplog, wal_left):
    data = tmp_path / "data"
    states = _fifteen_jobs(data)
    with sqlite3.connect(data / "jobs.sqlite3", isolation_level=None) as db:  # a server killed mid-write leaves a WAL
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("UPDATE jobs SET stage = stage")
        wal = (data / "jobs.sqlite3-wal").read_bytes()
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    if wal_left:
        (data / "jobs.sqlite3-wal").write_bytes(wal)
    with caplog.at_level(logging.INFO, logger="vidfuse.server"):
        with TestClient(create_app(data_dir=data, model=model_dir, workers=0)) as client:
            _check_recovered(client, states)
    assert "missing" in caplog.text and "recovered 15 job(s)" in caplog.text
    if wal_left:  # kept aside (SQLite would have overwritten it), never deleted
        (orphan,) = data.glob("jobs.sqlite3-wal.orphan-*")
        assert orphan.read_bytes() == wal


def _corrupt_header(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(b"this is not SQLite" * 6)


def _corrupt_index_page(path: Path) -> None:
    """Damage one page of the status index: every read still works; PRAGMA integrity_check fails."""
    with sqlite3.connect(path) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'jobs_status'").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    at = (root - 1) * size + data[(root - 1) * size : root * size].find(b"queued")
    data[at : at + 6] = b"qaeued"
    path.write_bytes(bytes(data))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 15
        assert db.execute("PRAGMA integrity_check").fetchall() != [("ok",)]


@pytest.mark.parametrize("corrupt", [_corrupt_header, _corrupt_index_page], ids=["header", "page"])
def test_a_corrupt_database_is_moved_aside_and_rebuilt(model_dir, tmp_path, caplog, corrupt):
    data = tmp_path / "data"
    states = _fifteen_jobs(data)
    with sqlite3.connect(data / "jobs.sqlite3") as db:  # fold the WAL in, so the damage is in the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    corrupt(data / "jobs.sqlite3")
    damaged = (data / "jobs.sqlite3").read_bytes()
    with caplog.at_level(logging.INFO, logger="vidfuse.server"):
        with TestClient(create_app(data_dir=data, model=model_dir, workers=0)) as client:
            _check_recovered(client, states)
    (aside,) = data.glob("jobs.sqlite3.corrupt-*[0-9]")
    assert aside.read_bytes() == damaged  # kept as it was, for whoever wants to look at it
    assert "damaged" in caplog.text and aside.name in caplog.text and "recovered 15 job(s)" in caplog.text
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_serve_repairs_before_listening_with_a_plain_log(model_dir, tmp_path, caplog):
    """`vidfuse serve` runs the check under the folder's lock before uvicorn starts (no traceback)."""
    from vidfuse.server.datafolder import data_dir_lock

    data = tmp_path / "data"
    states = _fifteen_jobs(data)
    _corrupt_header(data / "jobs.sqlite3")
    app = create_app(data_dir=data, model=model_dir, workers=0)
    with data_dir_lock(data.resolve()), caplog.at_level(logging.INFO, logger="vidfuse.server"):
        report = app.state.store.startup()
    assert report.problem and report.moved_to.exists() and sum(report.recovered.values()) == len(states)
    assert report.recovered == {"queued": 2, "running": 2, "done": 6, "failed": 3, "cancelled": 2}
    assert app.state.store.startup() is report  # once per store


def test_every_change_of_status_is_in_the_job_folder(tmp_path):
    store = JobStore(tmp_path)

    def record(job_id):
        return json.loads((store.job_dir(job_id) / JOB_FILE).read_text(encoding="utf-8"))

    job_id = store.create("prompt", {"prompt": "数字 3", "seed": 1})
    assert record(job_id)["status"] == "queued" and record(job_id)["params"]["prompt"] == "数字 3"
    job = store.claim(worker=1)
    assert record(job_id)["status"] == "running" and record(job_id)["attempts"] == 1
    store.recover()
    assert record(job_id)["status"] == "queued"
    job = store.claim(worker=1)
    work = store.job_dir(job_id) / "w"
    work.mkdir()
    (work / VIDEO).write_bytes(b"v")
    store.complete(job_id, job.claim, work, [VIDEO])
    rec = record(job_id)
    assert rec["status"] == "done" and rec["files"] == [VIDEO] and rec["attempts"] == 2
    assert "claim" not in rec and abs(rec["created_at"] - store.get(job_id).created_at) < 1e-6
    assert not list(store.job_dir(job_id).glob("*.tmp"))


def test_a_schema_upgrade_backs_the_database_up_first(model_dir, tmp_path, caplog):
    """A database of the first schema (no crashes column, user_version 0) and a job folder without job.json."""
    data = tmp_path / "data"
    (data / "jobs").mkdir(parents=True)
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        db.executescript("""
            CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
                stage TEXT NOT NULL DEFAULT 'queued', progress REAL NOT NULL DEFAULT 0, error TEXT, files TEXT,
                claim TEXT, worker INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
                cancel_requested INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, started_at REAL,
                finished_at REAL);
            CREATE TABLE job_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, at REAL NOT NULL,
                event TEXT NOT NULL, claim TEXT, detail TEXT);
            """)
        db.execute(
            "INSERT INTO jobs (id, kind, params, status, attempts, created_at) "
            "VALUES (?, 'prompt', ?, 'running', 3, ?)",
            ("a" * 32, json.dumps({"prompt": "old job", "seed": 1}), time.time()),
        )
    (data / "jobs" / ("a" * 32)).mkdir()
    with caplog.at_level(logging.INFO, logger="vidfuse.server"):
        with TestClient(create_app(data_dir=data, model=model_dir, workers=0)) as client:
            job = client.get("/v1/jobs/" + "a" * 32).json()
            # it had used 3 attempts under the old rule; a restart costs it nothing now
            assert job["status"] == "queued" and job["crashes"] == 0
    (backup,) = data.glob("jobs.sqlite3.v0-backup-*")
    assert backup.name in caplog.text
    with sqlite3.connect(backup) as db:
        assert db.execute("SELECT status FROM jobs").fetchall() == [("running",)]  # the data before the change
        assert "crashes" not in [r[1] for r in db.execute("PRAGMA table_info(jobs)")]
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert json.loads((data / "jobs" / ("a" * 32) / JOB_FILE).read_text())["params"]["prompt"] == "old job"


def test_a_database_from_a_newer_vidfuse_is_refused(tmp_path):
    JobStore(tmp_path)
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="newer vidfuse") as e:
        JobStore(tmp_path, create=False).startup()
    assert "\n" not in str(e.value)


def test_job_folders_without_a_record_are_reported(tmp_path, caplog):
    store = JobStore(tmp_path)
    (tmp_path / "jobs" / ("b" * 32)).mkdir()
    (tmp_path / "jobs" / ("c" * 32)).mkdir()
    (tmp_path / "jobs" / ("c" * 32) / JOB_FILE).write_text("{truncated", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="vidfuse.server"):
        report = JobStore(tmp_path, create=False).startup()
    assert report.without_record == ["b" * 32] and report.unreadable == ["c" * 32]
    assert "b" * 32 in caplog.text and "c" * 32 in caplog.text
    assert store.counts()["queued"] == 0


_GOOD_RECORD = {
    "kind": "prompt",
    "params": {"prompt": "digit 1", "seed": 1},
    "status": "done",
    "files": [],
    "progress": 1.0,
    "created_at": 1.0e9,
    "finished_at": 1.0e9 + 5,
}


@pytest.mark.parametrize(
    "damage",
    [
        "[1]",
        '"a string"',
        {"kind": None},
        {"kind": "shell"},
        {"params": [1, 2]},
        {"params": None},
        {"files": 5},
        {"files": ["../../etc/passwd"]},
        {"progress": "abc"},
        {"progress": float("nan")},
        {"progress": 7},
        {"started_at": "yesterday"},
        {"created_at": -1},
        {"attempts": "many"},
        {"error": 3},
    ],
    ids=repr,
)
def test_a_damaged_job_record_is_skipped_and_the_others_recovered(model_dir, tmp_path, damage):
    """A job.json may be damaged or planted: it is reported and skipped; the server starts, the good jobs
    come back, and the job list keeps working."""
    data = tmp_path / "data"
    JobStore(data)
    good, bad = "a" * 32, "b" * 32
    for job_id in (good, bad):
        (data / "jobs" / job_id).mkdir()
    (data / "jobs" / good / JOB_FILE).write_text(json.dumps({**_GOOD_RECORD, "id": good}), encoding="utf-8")
    text = damage if isinstance(damage, str) else json.dumps({**_GOOD_RECORD, "id": bad, **damage})
    (data / "jobs" / bad / JOB_FILE).write_text(text, encoding="utf-8")
    (data / "jobs.sqlite3").unlink()
    report = JobStore(data, create=False).startup()
    assert report.unreadable == [bad] and report.recovered == {"done": 1}
    with TestClient(create_app(data_dir=data, model=model_dir, workers=0)) as client:
        listed = client.get("/v1/jobs")
        assert listed.status_code == 200 and [j["id"] for j in listed.json()["jobs"]] == [good]


def test_a_database_that_cannot_be_opened_is_an_error_not_moved_aside_as_corrupt(tmp_path, monkeypatch):
    """ "database is locked" or "unable to open" is no proof of damage: startup stops with one line."""
    import vidfuse.server.datafolder as datafolder

    JobStore(tmp_path)

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(datafolder.sqlite3, "connect", refuse)
    with pytest.raises(VidfuseError, match="cannot open the job database") as e:
        JobStore(tmp_path, create=False).startup()
    assert "\n" not in str(e.value)
    monkeypatch.undo()
    assert (tmp_path / "jobs.sqlite3").is_file() and not list(tmp_path.glob("jobs.sqlite3.corrupt-*"))


# ---- 9. which failures count against a job -----------------------------------------------------------


def test_server_restarts_cost_a_job_nothing(tmp_path):
    store = JobStore(tmp_path, max_crashes=2)
    job_id = store.create("prompt", {"prompt": "x", "seed": 1})
    for _ in range(5):  # killed five times while running it
        assert store.claim(worker=1).id == job_id
        assert store.recover() == [job_id]
        job = store.get(job_id)
        assert job.status == "queued" and job.crashes == 0 and job.error is None
    assert store.get(job_id).attempts == 5
    # an orderly stop (Ctrl+C) costs nothing either
    store.claim(worker=7)
    assert store.release_worker(7, "the server stopped", crashed=False) == [job_id]
    assert store.get(job_id).status == "queued" and store.get(job_id).crashes == 0


def test_a_worker_crash_is_forgiven_once_and_fails_the_job_when_it_repeats(tmp_path):
    store = JobStore(tmp_path, max_crashes=2)
    job_id = store.create("prompt", {"prompt": "x", "seed": 1})
    store.claim(worker=101)
    store.recover()  # a server restart in between changes nothing
    store.claim(worker=102)
    assert store.release_worker(102, "the worker process died (killed by signal 9)") == [job_id]
    job = store.get(job_id)
    assert job.status == "queued" and job.crashes == 1
    store.claim(worker=103)
    store.release_worker(103, "the worker process died (killed by signal 11)")
    job = store.get(job_id)
    assert job.status == "failed" and job.crashes == 2
    assert "died" in job.error and "2 times" in job.error and "signal 11" in job.error
    assert [e["event"] for e in store.log(job_id)][-2:] == ["claimed", "failed"]


def test_max_crashes_is_checked():
    with pytest.raises(InputError, match="max_crashes"):
        JobStore("/nonexistent", max_crashes=0)


def test_a_story_without_voice_is_not_bounded_by_a_speaking_rate_it_never_uses(model_dir, tmp_path):
    pytest.importorskip("vidfuse.story.compose")
    from vidfuse.story.planner import MAX_STORY_SECONDS, estimate_seconds, validate_script

    script = "\n\n".join(
        f"Scene {i}: the red digit three moves slowly and steadily to the left across the wide black screen."
        for i in range(50)
    )
    scenes = validate_script(script)
    assert estimate_seconds(scenes, rate=80) > MAX_STORY_SECONDS > estimate_seconds(scenes)
    with TestClient(create_app(data_dir=tmp_path, model=model_dir, workers=0)) as client:
        silent = client.post("/v1/videos", json={"script": script, "rate": 80, "no_voice": True})
        assert silent.status_code == 202, silent.text
        spoken = client.post("/v1/videos", json={"script": script, "rate": 80})
        assert spoken.status_code == 422 and "MAX_STORY_SECONDS" in spoken.json()["detail"], spoken.text
