"""Who may use the server, checked before the app reads a byte of a request's body.

:class:`Guard`, pure ASGI middleware in front of the whole app, checks in this order: the ``Host`` header
names this server (``localhost``, ``127.0.0.1``, ``[::1]``, ``--host`` and each ``--allowed-host``; else
400: a DNS-rebinding page cannot reach the API), the token (401), and the body's size (``Content-Length``,
then counted while reading, so chunked bodies too; past ``Limits.max_body_bytes``: 413).

With a token, every API call needs ``Authorization: Bearer TOKEN``, except the URLs a browser fetches by
itself (``<video>``, ``<img>``, ``<track>``, ``EventSource`` cannot send headers): a job's JSON gives its
media and events URLs signed by :class:`MediaSigner`, ``?exp=…&sig=…``, an HMAC of the path and an expiry
(an hour or so) under a secret made at each start; no token in any URL.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import time
from typing import Any, Iterable
from urllib.parse import parse_qs

from fastapi.responses import FileResponse

from vidfuse.errors import InputError

MEDIA_PATH_RE = re.compile(r"/v1/jobs/[0-9a-f]{32}/(?:video|subtitles|storyboard|thumbnail|events)")
MEDIA_URL_TTL_S = 3600  # a signed URL works at least this long…
_SIGNED_EXP_RE, _SIGNED_SIG_RE = re.compile(r"[0-9]{1,12}"), re.compile(r"[0-9a-f]{32}")
_MEDIA_URL_STEP_S = 600  # …and its expiry is rounded up to this, so a re-rendered page keeps its URLs (cache)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_HEAD = "vidfuse.head"  # scope key: this GET was a HEAD; answer with headers only


class MediaSigner:
    """Signed URLs for what a browser fetches by itself: ``?exp=UNIX&sig=HMAC-SHA256(path, exp)``
    under a secret made when the server starts (a restart invalidates them; the page asks again)."""

    def __init__(self, secret: bytes | None = None, ttl_s: int = MEDIA_URL_TTL_S):
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _sig(self, path: str, exp: int) -> str:
        return hmac.new(self._secret, f"{path}\n{exp}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def sign(self, url: str, now: float | None = None) -> str:
        path, _, query = url.partition("?")
        exp = (int((time.time() if now is None else now) + self.ttl_s) // _MEDIA_URL_STEP_S + 1) * _MEDIA_URL_STEP_S
        return f"{path}?{query + '&' if query else ''}exp={exp}&sig={self._sig(path, exp)}"

    def verify(self, path: str, query_string: bytes, now: float | None = None) -> bool:
        query = parse_qs(query_string.decode("latin-1"))
        exp, sig = query.get("exp", [""])[-1], query.get("sig", [""])[-1]
        # ASCII digits and hex only: str.isdigit() takes "²", which int() refuses, and a sig outside
        # Latin-1 cannot be compared as bytes; either would be a 500 for an unauthenticated request
        if not _SIGNED_EXP_RE.fullmatch(exp) or not _SIGNED_SIG_RE.fullmatch(sig):
            return False
        if int(exp) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(sig.encode("ascii"), self._sig(path, int(exp)).encode("ascii"))


def host_name(value: str) -> str:
    """The host name of a Host header or a configured name: lower case, no port, no brackets, no final dot."""
    value = value.strip().lower()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:
        value = value.split(":")[0]
    return value.rstrip(".")


def allowed_hosts(extra: Iterable[str]) -> frozenset[str] | None:
    """The loopback names plus ``extra``; None (any Host) when ``extra`` holds ``*``."""
    names = set(LOOPBACK_HOSTS)
    for value in extra:
        if value.strip() == "*":
            return None
        name = host_name(value)
        if not name or re.search(r"[\s/@?#]", name):
            raise InputError(
                f"allowed host {value!r} is not a host name; give a name or an address, "
                "e.g. --allowed-host video.example.org or --allowed-host 192.168.1.20"
            )
        names.add(name)
    return frozenset(names)


def _printable(text: str, n: int = 100) -> str:
    return re.sub(r"[^\x21-\x7e]", "?", text)[:n]


async def _answer(
    send, status: int, body: dict[str, Any], *, headers: Iterable[tuple[str, str]] = (), close: bool = False
) -> None:
    """A JSON answer sent by the guard itself; ``close`` when the request's body was left unread."""
    data = json.dumps(body, ensure_ascii=True).encode("ascii")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode("ascii"))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data, "more_body": False})


class Guard:
    """Pure ASGI middleware in front of the whole app; see the module docstring. It also answers HEAD
    as GET without the body (FastAPI routes only match GET) and adds the security headers."""

    def __init__(self, app, *, hosts: frozenset[str] | None, token: str | None, signer: MediaSigner, max_body: int):
        self.app, self.hosts, self.signer, self.max_body = app, hosts, signer, max_body
        self.token = token.encode("utf-8") if token else None

    def _authorised(self, scope, headers: dict[bytes, bytes]) -> bool:
        scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and value.strip():
            return hmac.compare_digest(value.strip(), self.token)
        if scope["method"] in ("GET", "HEAD") and MEDIA_PATH_RE.fullmatch(scope["path"]):
            return self.signer.verify(scope["path"], scope.get("query_string", b""))
        return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outer_send = send

        async def send(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k, v)
                    for k, v in ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
                    if k not in names
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await outer_send(message)

        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.lower(), v)
        length = headers.get(b"content-length")
        has_body = (length not in (None, b"0")) or b"chunked" in headers.get(b"transfer-encoding", b"").lower()

        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if self.hosts is not None and host not in self.hosts:
            await _answer(
                send,
                400,
                {
                    "detail": f"this server does not answer to the host name '{_printable(host)}' "
                    "(a page of another site may not use it); open it by a name it was started "
                    "with, or restart it with --allowed-host NAME"
                },
                close=has_body,
            )
            return
        path = scope["path"]
        api = path == "/v1" or path.startswith("/v1/")
        if self.token is not None and api and not self._authorised(scope, headers):
            sent = headers.get(b"authorization", b"").partition(b" ")
            if sent[0].lower() == b"bearer" and sent[2].strip():  # a token was sent, and it is not this server's
                detail = "the token sent is not this server's: send the one it was started with"
            else:
                detail = "this server needs a token: send 'Authorization: Bearer TOKEN'"
            if MEDIA_PATH_RE.fullmatch(path):
                detail += ", or use the signed URL in the job's JSON (it expires after an hour or so)"
            await _answer(
                send, 401, {"detail": detail}, headers=[("WWW-Authenticate", 'Bearer realm="vidfuse"')], close=has_body
            )
            return
        too_big = {
            "detail": f"the request body is over {self.max_body:,} bytes, the limit (max_body_bytes); "
            "send a shorter prompt or script",
            "limit": "max_body_bytes",
            "max": self.max_body,
        }
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, too_big, close=True)
            return
        chunks, size = [], 0  # read the body here, counting, so that a chunked one is bounded too
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _answer(send, 413, too_big, close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed, finished = b"".join(chunks), [], []

        async def replay():
            if not replayed:
                replayed.append(True)
                return {"type": "http.request", "body": body, "more_body": False}
            if finished:  # a HEAD answer is complete: a streaming GET behind it must stop
                return {"type": "http.disconnect"}
            return await receive()

        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET", _HEAD: True}
            inner_send = send

            async def send(message) -> None:
                if message["type"] == "http.response.start":
                    await inner_send(message)
                elif message["type"] == "http.response.body" and not finished:
                    finished.append(True)
                    await inner_send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, replay, send)


class GuardedFileResponse(FileResponse):
    """A FileResponse that, for a HEAD the guard turned into GET, sends the headers without reading the file."""

    async def __call__(self, scope, receive, send) -> None:
        if scope.get(_HEAD):
            scope = {**scope, "method": "HEAD"}
        await super().__call__(scope, receive, send)


class RedactToken(logging.Filter):
    """Keep ``access_token=…`` out of the access log."""

    _re = re.compile(r"(access_token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._re.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
