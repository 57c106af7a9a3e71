"""Real local stand-ins for the SMS provider (HTTP) and the mail relay (SMTP, aiosmtpd).

They run in threads of their own, so they outlive any event loop of the test session and
the platform's processes deliver to them over loopback exactly as to the real providers.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class SmsStandIn:
    """Accepts `POST /messages` {to, text}; keeps what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                stand_in.received.append(json.loads(self.rfile.read(length)))
                self.send_response(202)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/messages"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    def texts_to(self, number: str) -> list[str]:
        return [message["text"] for message in self.received if message["to"] == number]


class _MailHandler:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        part = message.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        self.received.append(([str(to) for to in envelope.rcpt_tos], text))
        return "250 OK"


class MailStandIn:
    """A real SMTP server on loopback (no TLS) keeping every message it accepted."""

    def __init__(self) -> None:
        self._handler = _MailHandler()
        with socket.socket() as probe:  # the controller checks its port by connecting to it
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def texts_to(self, address: str) -> list[str]:
        return [text for recipients, text in self._handler.received if address in recipients]


def wait_for_code(read: Any, *, within_s: float = 5.0) -> str:
    """The code in the newest message `read()` returns, waiting for it to arrive."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        texts = read()
        if texts and (found := CODE.search(texts[-1])):
            return found.group(1)
        time.sleep(0.05)
    raise AssertionError("no code was delivered")
