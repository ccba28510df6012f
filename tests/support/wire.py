"""A raw SMTP client for transcript tests: every reply line as sent, nothing smoothed over."""

from __future__ import annotations

import socket


class Wire:
    """One connection; `command` returns the reply's lines (multi-line replies whole)."""

    def __init__(self, address: tuple[str, int], source: str | None = None, timeout: float = 30):
        self.sock = socket.create_connection(
            address, timeout=timeout, source_address=(source, 0) if source else None
        )
        self.buffer = b""
        self.greeting = self.reply()

    def reply(self) -> list[str]:
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by the server")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", errors="replace"))
            if line[3:4] != b"-":
                return lines

    def command(self, line: bytes | str) -> list[str]:
        self.send(line.encode() if isinstance(line, str) else line)
        return self.reply()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data + b"\r\n")

    def closed(self) -> bool:
        """True once the server has hung up (after whatever it still had to say)."""
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()
