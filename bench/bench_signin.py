"""Sign-ins per second through the gateway: OTP (request + verify), then eID verification.

Run: `.venv/bin/python bench/bench_signin.py [--duration 10] [--concurrency 32]
[--identity-workers 1] [--direct] [--only otp|eid] [--eid-key ec-p256|rsa-2048|mixed]`.
One run prints both figures, one block each (`bench_eid.py` describes the eID load).

What runs, as in the distributed mode:
- a throwaway Postgres database (TEST_POSTGRES_URL's server), migrated;
- the identity service in its own uvicorn process (uvloop, httptools, access log off), with
  its real SMS delivery pointed at an HTTP SMS-provider stand-in served by this script, and
  the bench's CSCA as its eID trust list;
- the gateway in front of it (`python -m marfiq_gateway`), unless `--direct`;
- the OTP load: `--concurrency` virtual users, each signing in again and again with a new
  phone number: ask for a code, wait for the SMS stand-in to receive it, read the code from
  the text, verify it (tokens back). A sign-in counts when the verify answers 200.

Every sign-in pays for the real work: the contact's advisory lock, send limits, the HMAC,
the challenge row, the delivery over HTTP after the commit, the failure counters, the
account creation on first sign-in, the session and refresh token, an ES256 signature.
Each sign-in comes from its own client address, as phones do: the script plays a trusted
load balancer that sets X-Forwarded-For (GATEWAY_TRUST_FORWARDED_HEADERS), and identity
trusts the gateway's address (IDENTITY_TRUSTED_PROXIES), so every limit runs with its
production defaults.

Each block gives operations per second, latency of a whole operation (p50/p99, code
delivery included), CPU per operation of every process (identity, gateway, the Postgres
backends, this script), refusals by status and the load average during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_eid import EID_KEYS, Cards, EidLoad

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
KEY_SECRET = "bench-key-encryption-secret-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of a virtual user, one request at a time.

    The load generator shares the two cores with the platform, so it speaks HTTP itself
    rather than through a client library: a request is one write, an answer is parsed from
    the bytes as they come (Content-Length or chunked), nothing more.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.answer is None or self.answer.done():
            return
        parsed = parse_http_message(self.buffer)
        if parsed is not None:
            status, _, body, used = parsed
            del self.buffer[:used]
            self.answer.set_result((status, body))

    async def post(self, path: str, body: bytes, headers: bytes = b"") -> tuple[int, bytes]:
        """POST `body` (JSON) with extra `headers` (b"name: value\r\n" lines); the status
        and body of the answer."""
        return await self.request(
            b"POST", path, body, headers + b"content-type: application/json\r\n"
        )

    async def request(
        self, method: bytes, path: str, body: bytes = b"", headers: bytes = b""
    ) -> tuple[int, bytes]:
        """Any request: `headers` as b"name: value\r\n" lines; the status and body of the
        answer. A large body goes out as its own write, never copied into the head."""
        loop = asyncio.get_running_loop()
        if self.transport is None or self.transport.is_closing():
            self.buffer.clear()
            await loop.create_connection(lambda: self, self.host, self.port)
        assert self.transport is not None
        self.answer = loop.create_future()
        head = b"%s %s HTTP/1.1\r\nhost: %s:%d\r\n%suser-agent: marfiq-bench/1\r\n" % (
            method,
            path.encode(),
            self.host.encode(),
            self.port,
            headers,
        )
        if body or method == b"POST":
            head += b"content-length: %d\r\n" % len(body)
        if len(body) > 65536:
            self.transport.write(head + b"\r\n")
            self.transport.write(body)
        else:
            self.transport.write(head + b"\r\n" + body)
        return await self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)


def parse_http_message(buffer: bytearray) -> tuple[int, bytes, bytes, int] | None:
    """The first complete HTTP/1.1 message in `buffer`: (status, or 0 for a request; the
    start line; the body; bytes used), or None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[: end + 2])
    start_line = head[: head.find(b"\r\n")]
    status = int(start_line[9:12]) if start_line.startswith(b"HTTP/") else 0
    begin = end + 4
    length = _CONTENT_LENGTH.search(head)
    if length is not None:
        stop = begin + int(length.group(1))
        return (
            (status, start_line, bytes(buffer[begin:stop]), stop) if len(buffer) >= stop else None
        )
    if _CHUNKED.search(head) is None:
        return status, start_line, b"", begin
    body = bytearray()
    position = begin
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        chunk_start = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            return (status, start_line, bytes(body), trailer_end + 4) if trailer_end >= 0 else None
        if len(buffer) < chunk_start + size + 2:
            return None
        body += buffer[chunk_start : chunk_start + size]
        position = chunk_start + size + 2


_SMS_ACCEPTED = (
    b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 19\r\n\r\n"
    b'{"status":"queued"}'
)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


class _SmsConnection(asyncio.Protocol):
    """One connection of identity's SMS sender to the stand-in (kept alive, reused)."""

    def __init__(self, stand_in: SmsStandIn) -> None:
        self.stand_in = stand_in
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        assert self.transport is not None
        while (parsed := parse_http_message(self.buffer)) is not None:
            _, start_line, body, used = parsed
            del self.buffer[:used]
            if not start_line.startswith(b"POST /messages "):
                self.transport.write(_NOT_FOUND)
                continue
            self.stand_in.receive(json.loads(body))
            self.transport.write(_SMS_ACCEPTED)


class SmsStandIn:
    """The SMS provider: hands each received code to whoever waits for that number."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.received = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        port = free_port()
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _SmsConnection(self), "127.0.0.1", port
        )
        self.url = f"http://127.0.0.1:{port}/messages"

    def receive(self, message: dict[str, Any]) -> None:
        """A message as the provider got it: the code is read from its text."""
        self.received += 1
        match = CODE.search(message["text"])
        future = self.waiting.pop(message["to"], None)
        if future is not None and match is not None and not future.done():
            future.set_result(match.group(1))

    def expect(self, phone: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting[phone] = future
        return future

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers), so far."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for candidate in [pid, *children_of(pid)]:
        try:
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


async def backend_pids(admin_url: str, database_url: str) -> list[int]:
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


def start_process(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def uvicorn(factory: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        # Identity finds the client's address itself, trusting only IDENTITY_TRUSTED_PROXIES;
        # uvicorn's own X-Forwarded-For rewrite (on by default for 127.0.0.1) would bypass
        # that setting, and costs ~3 % of identity's CPU a request.
        "--no-proxy-headers",
    ]


async def wait_ready(url: str, *, within_s: float = 60.0) -> None:
    import aiohttp

    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            try:
                async with client.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


class OtpLoad:
    """Virtual users signing in with fresh phone numbers until the deadline."""

    name = "OTP sign-in (request + SMS delivery + verify)"
    unit = "sign-ins"

    def __init__(self, sms: SmsStandIn) -> None:
        self.sms = sms
        self.next_number = 0
        self.done = 0
        self.warm = 0
        self.latencies: list[float] = []
        self.refused: Counter[str] = Counter()
        self.phases: dict[str, list[float]] = {"request": [], "sms": [], "verify": []}

    def phone(self) -> tuple[str, str]:
        """A new phone number, and the address of the phone asking."""
        self.next_number += 1
        n = self.next_number
        return f"+212661{n:06d}", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    async def sign_in(self, client: HttpConnection) -> None:
        phone, address = self.phone()
        headers = b"x-forwarded-for: %s\r\n" % address.encode()
        started = time.perf_counter()
        code = self.sms.expect(phone)
        body = b'{"channel":"sms","destination":"%s"}' % phone.encode()
        status, answer = await client.post("/v1/auth/otp", body, headers)
        if status != 202:
            self.refused[f"otp {status}"] += 1
            self.sms.waiting.pop(phone, None)
            return
        challenge = json.loads(answer)["challenge_id"]
        requested = time.perf_counter()
        try:
            received = await asyncio.wait_for(code, 10)
        except TimeoutError:
            self.refused["no sms"] += 1
            return
        delivered = time.perf_counter()
        body = b'{"challenge_id":"%s","code":"%s"}' % (challenge.encode(), received.encode())
        status, answer = await client.post("/v1/auth/otp/verify", body, headers)
        if status != 200 or "access_token" not in json.loads(answer):
            self.refused[f"verify {status}"] += 1
            return
        finished = time.perf_counter()
        self.done += 1
        self.latencies.append(finished - started)
        self.phases["request"].append(requested - started)
        self.phases["sms"].append(delivered - requested)
        self.phases["verify"].append(finished - delivered)


async def drive(
    load: Any, base_url: str, *, concurrency: int, duration: float, warm_up: float = 2.0
) -> float:
    """Run `load` with `concurrency` users (a connection each): a warm-up, then `duration`
    seconds measured."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    clients = [HttpConnection(host, int(port)) for _ in range(concurrency)]

    async def user(client: HttpConnection, deadline: float) -> None:
        while time.monotonic() < deadline:
            await load.sign_in(client)

    try:
        # Warm up: connections, the JWKS cache of the gateway, prepared statements.
        warm = time.monotonic() + warm_up
        await asyncio.gather(*(user(client, warm) for client in clients))
        load.warm = load.done
        load.done, load.latencies, load.refused = 0, [], Counter()
        load.phases = {name: [] for name in load.phases}
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(*(user(client, deadline) for client in clients))
        return time.monotonic() - started
    finally:
        for client in clients:
            client.close()


@dataclass
class Measured:
    """CPU time of every process taking part, from a start mark."""

    processes: list[tuple[str, int]]
    admin_url: str
    database_url: str
    before: list[float] = field(default_factory=list)
    postgres_before: float = 0.0
    own_before: float = 0.0

    async def start(self) -> None:
        self.before = [cpu_seconds(pid) for _, pid in self.processes]
        self.postgres_before = await self._postgres()
        self.own_before = time.process_time()

    async def _postgres(self) -> float:
        backends = await backend_pids(self.admin_url, self.database_url)
        return sum(cpu_seconds(pid) for pid in backends)

    async def used(self) -> list[tuple[str, float]]:
        """CPU seconds since `start`, by process (Postgres: the backends of the database)."""
        used = [
            (name, cpu_seconds(pid) - before)
            for (name, pid), before in zip(self.processes, self.before, strict=True)
        ]
        # The pools keep their connections, so the same backends serve the whole run.
        used.append(("postgres", await self._postgres() - self.postgres_before))
        used.append(("load generator + SMS stand-in", time.process_time() - self.own_before))
        return used


def report(load: Any, *, elapsed: float, used: list[tuple[str, float]], header: str) -> None:
    """One result block: rate, latency, CPU per operation by process, refusals."""
    operations = max(1, load.done + load.warm)
    platform_ms = sum(seconds for _, seconds in used[:-1]) / operations * 1000
    all_ms = sum(seconds for _, seconds in used) / operations * 1000
    latencies = sorted(load.latencies) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{load.name}, {header}\n"
        f"  {load.unit}: {load.done} in {elapsed:.1f} s = {load.done / elapsed:.0f}/s\n"
        f"  latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms\n"
        "  CPU per operation (warm-up included): "
        + ", ".join(f"{name} {seconds / operations * 1000:.2f} ms" for name, seconds in used)
        + f"\n  platform CPU per operation (all but the load generator): {platform_ms:.2f} ms"
        f" -> at most {2000 / platform_ms:.0f}/s on two dedicated cores"
        f" ({2000 / all_ms:.0f}/s with the load generator on them)\n"
        "  p50 of each step: "
        + ", ".join(
            f"{name} {statistics.median(values or [0]) * 1000:.1f} ms"
            for name, values in load.phases.items()
        )
        + f"\n  refused: {dict(load.refused) or 'none'}\n"
        f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )


async def main(only: str | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--identity-workers", type=int, default=1)
    parser.add_argument("--direct", action="store_true", help="skip the gateway")
    parser.add_argument("--only", choices=["otp", "eid"], default=only)
    parser.add_argument("--eid-key", choices=EID_KEYS, default="ec-p256")
    parser.add_argument("--eid-cards", type=int, default=500)
    args = parser.parse_args()

    from marfiq_identity.app import MIGRATIONS
    from marfiq_shared.migrations import upgrade
    from marfiq_shared.testing import create_database, drop_database, postgres_admin_url

    loads = ["otp", "eid"] if args.only is None else [args.only]
    cards = Cards(count=args.eid_cards, key=args.eid_key) if "eid" in loads else None
    admin = postgres_admin_url()
    database_url = await create_database(admin, prefix="bench_signin")
    processes: list[subprocess.Popen[bytes]] = []
    sms = SmsStandIn()
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        await sms.start()
        identity_port, gateway_port = free_port(), free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "IDENTITY_KEY_ENCRYPTION_SECRET": KEY_SECRET,
            "IDENTITY_SMS_GATEWAY_URL": sms.url,
            "IDENTITY_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            # One connection per virtual user and a few for the delivery worker: the pool
            # never opens and closes overflow connections during the run.
            "IDENTITY_DATABASE_POOL_SIZE": str(args.concurrency + 4),
            "MARFIQ_NOTIFIER": "provider",
            "MARFIQ_ISSUER": f"http://127.0.0.1:{gateway_port}",
            "MARFIQ_JWKS_URL": f"http://127.0.0.1:{identity_port}/.well-known/jwks.json",
            "LOG_LEVEL": "WARNING",
        }
        if cards is not None:
            env["IDENTITY_EID_CSCA_PEM"] = cards.csca_pem
        env.pop("AMQP_URL", None)
        processes.append(
            start_process(
                uvicorn("marfiq_identity.app:create_app", identity_port, args.identity_workers),
                env,
            )
        )
        await wait_ready(f"http://127.0.0.1:{identity_port}/readyz")
        base_url = f"http://127.0.0.1:{identity_port}"
        if not args.direct:
            gateway_env = {
                **env,
                "GATEWAY_PORT": str(gateway_port),
                "GATEWAY_IDENTITY_URL": f"http://127.0.0.1:{identity_port}",
                "GATEWAY_TRUST_FORWARDED_HEADERS": "true",
            }
            processes.append(start_process([sys.executable, "-m", "marfiq_gateway"], gateway_env))
            await wait_ready(f"http://127.0.0.1:{gateway_port}/livez")
            base_url = f"http://127.0.0.1:{gateway_port}"

        names = ["identity", "gateway"][: len(processes)]
        path = "direct to identity" if args.direct else "through the gateway"
        header = (
            f"{path}, {args.identity_workers} identity worker(s), {args.concurrency} users, "
            f"{os.cpu_count()} CPUs"
        )
        print(f"load starts (identity pid {processes[0].pid})", flush=True)
        for kind in loads:
            if kind == "otp":
                load: Any = OtpLoad(sms)
            else:
                assert cards is not None  # made above whenever the eID load runs
                load = EidLoad(cards)
            measured = Measured(
                [(name, p.pid) for name, p in zip(names, processes, strict=True)],
                admin,
                database_url,
            )
            await measured.start()
            elapsed = await drive(
                load, base_url, concurrency=args.concurrency, duration=args.duration
            )
            used = await measured.used()
            extra = f", {args.eid_key} chips" if kind == "eid" else ""
            report(load, elapsed=elapsed, used=used, header=header + extra)
    finally:
        sms.close()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        await drop_database(admin, database_url)


def run_cli(only: str | None = None) -> None:
    """Entry point of this script and of `bench_eid.py` (`only="eid"`)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(only))


if __name__ == "__main__":
    run_cli()
