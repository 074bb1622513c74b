"""The review server: the page, the crops, the video, and the actions.

Standard library only (http.server). It listens on 127.0.0.1 and answers
only requests that name it as their Host (127.0.0.1:PORT or localhost:PORT),
so a web page whose name resolves to this machine (DNS rebinding) gets
nothing. Requests that change files must also come from the page itself:
an Origin of this server, no cross-site fetch metadata, a JSON body, and the
per-session random token that only the page holds (another site cannot read
it). Everything else is refused with 403.
"""
from __future__ import annotations

import hmac
import json
import mimetypes
import os
import re
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import ClusterVideoError
from ..output.export import FEATURES
from .actions import Refused, Session
from .suggestions import face_encodings, suggest

TOKEN_HEADER = "X-Review-Token"
"""The header that carries the session's token on every state-changing request."""

MAX_BODY = 1 << 20
"""Largest request body read (an action is a few hundred bytes)."""

CHUNK = 8 << 20
"""Most bytes of the video sent for one range request (the browser asks again)."""

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class ReviewServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer for one review Session, on loopback."""

    daemon_threads = True

    def __init__(self, session: Session, port: int = 0):
        super().__init__(("127.0.0.1", port), Handler)
        self.session = session
        self.token = secrets.token_urlsafe(32)
        self.lock = threading.Lock()  # one action at a time
        port = self.server_address[1]
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self._enc: tuple[float, dict] | None = None

    def handle_error(self, request, client_address) -> None:
        """A browser that drops a connection (a video seek, a closed tab) is no error."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def encodings(self) -> dict:
        """The cache's encodings, read again only when the cache changed."""

        path = self.session.dest / FEATURES
        mtime = path.stat().st_mtime if path.exists() else 0.0
        if self._enc is None or self._enc[0] != mtime:
            self._enc = (mtime, face_encodings(self.session.dest))
        return self._enc[1]

    def state(self, report: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the page shows: the report, hidden persons, suggestions."""
        s = self.session
        report = report if report is not None else s.report()
        hidden = s.hidden()
        return {"report": report, "hidden": sorted(hidden), "video": "video",
                "video_name": s.video.name,
                "suggestions": suggest(s.dest, report, s.not_same_pairs(), hidden, encodings=self.encodings())}


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the terminal shows the URL only
        pass

    # --- guards ------------------------------------------------------------

    def _host_ok(self) -> bool:
        return self.headers.get("Host", "") in self.server.hosts

    def _write_ok(self) -> str | None:
        """Why a state-changing request is refused, or None."""
        if self.headers.get("Origin") not in self.server.origins:
            return "cross-origin request"
        if self.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
            return "cross-site request"
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return "not JSON"
        if not hmac.compare_digest(self.headers.get(TOKEN_HEADER, ""), self.server.token):
            return "no valid token"
        return None

    # --- answers -----------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _forbidden(self, why: str) -> None:
        self._json(HTTPStatus.FORBIDDEN, {"error": f"refused: {why}"})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if not self._host_ok():
            return self._forbidden("unknown Host")
        if self.headers.get("Sec-Fetch-Site") == "cross-site":
            return self._forbidden("cross-site request")
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            page = resources.files("clusterer.review").joinpath("review.html").read_text()
            page = page.replace("__TOKEN__", self.server.token)
            return self._send(200, page.encode(), "text/html; charset=utf-8",
                              {"Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'; "
                                                          "style-src 'self' 'unsafe-inline'; "
                                                          "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"})
        if path == "/api/state":
            return self._json(200, self.server.state())
        if path == "/video":
            return self._file(self.server.session.video, ranged=True)
        if path.startswith("/files/"):
            return self._crop(path[len("/files/"):])
        self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self):
        if not self._host_ok():
            return self._forbidden("unknown Host")
        why = self._write_ok()
        if why:
            return self._forbidden(why)
        m = re.fullmatch(r"/api/([a-z-]+)", urlsplit(self.path).path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not m:
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "bad request (body length)"})
        try:
            args = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(args, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": f"bad request ({e})"})
        with self.server.lock:
            try:
                outcome = self.server.session.apply(m.group(1), args)
            except Refused as e:
                return self._json(HTTPStatus.CONFLICT, {"error": str(e), **self.server.state()})
            except ClusterVideoError as e:
                return self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(e)})
            state = self.server.state(outcome.report)
        self._json(200, {**state, "seconds": round(outcome.seconds, 3)})

    # --- files -------------------------------------------------------------

    def _crop(self, rel: str) -> None:
        """A file of the result folder: an image or a page the tool wrote, never
        outside the folder, never through a link."""
        dest = self.server.session.dest
        parts = rel.split("/")
        path = dest.joinpath(*parts)
        if (any(p in ("", ".", "..") or p.startswith(".") for p in parts)
                or path.suffix.lower() not in (".jpg", ".jpeg", ".png")
                or any(q.is_symlink() for q in [path, *path.parents] if q != dest and dest in q.parents)):
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        self._file(path)

    def _file(self, path: Path, ranged: bool = False) -> None:
        """A file; with `ranged` (the video) byte ranges as a <video> element
        asks for them to seek, at most CHUNK bytes an answer."""
        try:
            fh = open(path, "rb")
        except OSError:
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        with fh:
            size = os.fstat(fh.fileno()).st_size
            ctype = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
            m = _RANGE.match(self.headers.get("Range", "")) if ranged else None
            extra = {"Accept-Ranges": "bytes"} if ranged else {}
            status, start, length = HTTPStatus.OK, 0, size
            if m and (m.group(1) or m.group(2)):
                a, b = m.groups()
                start, end = (int(a), min(int(b) if b else size - 1, size - 1)) if a else (max(0, size - int(b)), size - 1)
                if start > end or start >= size:
                    return self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", ctype,
                                      {"Content-Range": f"bytes */{size}"})
                end = min(end, start + CHUNK - 1)
                status, length = HTTPStatus.PARTIAL_CONTENT, end - start + 1
                extra["Content-Range"] = f"bytes {start}-{end}/{size}"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(length))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command == "HEAD":
                return
            fh.seek(start)
            try:
                while length > 0:
                    chunk = fh.read(min(1 << 16, length))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    length -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):  # the browser stopped reading: it may
                self.close_connection = True


def serve(session: Session, port: int = 0, open_browser: bool = True, ready=None) -> None:
    """Serve until interrupted (Ctrl-C). `ready`, if given, is called with the server."""
    server = ReviewServer(session, port)
    if ready:
        ready(server)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
