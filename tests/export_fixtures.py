"""A local fake of the Hugging Face Hub API, enough for ``create_repo``, ``list_repo_files`` and
``create_commit`` (regular uploads), on 127.0.0.1. It records every request and stops itself
after ``max_seconds``."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeHub:
    """``with FakeHub() as hub: os.environ["HF_ENDPOINT"] = hub.url``.

    Attributes:
        requests: ``(method, path, headers, body)`` of every request.
        repos: repo id -> {path: bytes} of committed files.
        fail_with: when set, ``(status, body)`` returned to every request (body may echo headers).
    """

    def __init__(self, max_seconds: float = 60.0) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.repos: dict[str, dict[str, bytes]] = {}
        self.private: dict[str, bool] = {}
        self.fail_with: tuple[int, str] | None = None
        self.validated: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, obj: Any) -> None:
                body = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                hub.requests.append((self.command, self.path, headers, body))
                if hub.fail_with is not None:
                    status, text = hub.fail_with
                    return self._send(status, text.replace("{auth}", headers.get("authorization", "")))
                path = self.path.split("?")[0]
                if self.command == "POST" and path == "/api/repos/create":
                    req = json.loads(body)
                    rid = f"{req.get('organization') or 'me'}/{req['name']}"
                    hub.repos.setdefault(rid, {})
                    hub.private[rid] = bool(req.get("private")) or req.get("visibility") == "private"
                    return self._send(200, {"url": f"{hub.url}/datasets/{rid}", "name": rid, "id": rid})
                if self.command == "POST" and path == "/api/validate-yaml":
                    hub.validated.append(json.loads(body).get("content", ""))
                    return self._send(200, {"errors": [], "warnings": []})
                parts = path.split("/")
                # /datasets/{owner}/{name}/resolve/{revision}/{file}: file downloads
                if len(parts) >= 7 and parts[1] == "datasets" and parts[4] == "resolve":
                    data = hub.repos.get(f"{parts[2]}/{parts[3]}", {}).get("/".join(parts[6:]))
                    if data is None:
                        return self._send(404, {"error": "Entry not found"})
                    import hashlib

                    self.send_response(200)
                    self.send_header("X-Repo-Commit", "1" * 40)
                    self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command == "GET":
                        self.wfile.write(data)
                    return None
                # /api/datasets/{owner}/{name}/{action}/{revision}...
                if len(parts) >= 7 and parts[1] == "api" and parts[2] == "datasets":
                    rid, action = f"{parts[3]}/{parts[4]}", parts[5]
                    files = hub.repos.get(rid)
                    if files is None:
                        return self._send(404, {"error": "Repository not found"})
                    if action == "tree":
                        return self._send(200, [{"type": "file", "path": p, "size": len(b), "oid": "0" * 40}
                                                for p, b in sorted(files.items())])
                    if action == "preupload":
                        req = json.loads(body)
                        return self._send(200, {"files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                            for f in req["files"]]})
                    if action == "commit":
                        for line in body.decode().splitlines():
                            op = json.loads(line)
                            if op["key"] == "file":
                                files[op["value"]["path"]] = base64.b64decode(op["value"]["content"])
                            elif op["key"] == "deletedFile":
                                files.pop(op["value"]["path"], None)
                        oid = f"{len(hub.requests):040x}"
                        return self._send(200, {"commitUrl": f"{hub.url}/datasets/{rid}/commit/{oid}",
                                                "commitOid": oid, "success": True})
                return self._send(404, {"error": f"fake hub: no route {self.command} {path}"})

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(max_seconds, self._server.shutdown)
        self._timer.daemon = True

    def __enter__(self) -> FakeHub:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
