"""An OAuth2 token endpoint for test servers, that knows one token."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Introspection:
    """An OAuth2 provider's introspection endpoint: `token` is valid, for `username`."""

    def __init__(self, token: str, username: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                valid = self.headers.get("Authorization", "") == f"Bearer {token}"
                body = json.dumps(
                    {"username": username} if valid else {"error": "invalid"}
                ).encode()
                self.send_response(200 if valid else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/userinfo"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
