"""Pensions: declaration rows per second, and simulations per second, through the service's
HTTP API with real tokens, printed from one run.

Run: `.venv/bin/python bench/bench_pensions.py [--rows 50000] [--duration 10] [--workers 1]`.
The first lines say the configuration (uvicorn workers, chunk size and concurrency, pool,
load average); every figure comes with the CPU time per unit of work of the service's
processes and of its Postgres backends, the steadier figure on a shared machine.

The pensions service runs as an operator runs it (uvicorn, uvloop, httptools, access log off)
on a throwaway database of the local Postgres, with the in-process event transport. Tokens
are real ES256 access tokens signed by a key generated for the run, whose JWKS the bench
serves on loopback; the service fetches and checks it exactly as it does identity's. One
authenticated request warms the service up before any clock runs.

1. Declarations: an employer's partner client (scope `pensions:declare`) posts a monthly
   declaration of `--rows` rows as JSON; the clock runs from the POST until
   `GET /v1/pensions/declarations/{id}` says `processed` (rows checked, staged, processed
   in chunks by the service's worker, put in force). Three rounds: the first declaration
   (every employee new: affiliates are created), the next month as CSV (steady state:
   every employee known by affiliation number), and that month again (a resubmission
   replacing it). Target: >= 20,000 rows/s.
2. Simulations: citizens with a proven CIN (the employees just declared, with 25 years of
   recorded service) post `POST /v1/pensions/me/simulations`, `--connections` concurrent
   connections for `--duration` seconds with `wrk`, rotating through `--citizens` tokens.
   Every answer must be 200. Target: >= 1,000 simulations/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ISSUER, AUDIENCE = "https://bench.marfiq.test", "marfiq"
POOL_SIZE = 10

SIMULATE_LUA = r"""
local tokens, n = {}, 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/pensions/me/simulations", {
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }, '{"retirement_date":"2040-01-01","salary_growth":"0.02"}')
end
"""


# --- tokens -----------------------------------------------------------------------------------


class Signer:
    """An ES256 key, its JWKS served on loopback, and access tokens signed with it."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm

        self.kid = uuid.uuid4().hex[:12]
        self.key = ec.generate_private_key(ec.SECP256R1())
        entry = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        document = {"keys": [entry | {"kid": self.kid, "use": "sig", "alg": "ES256"}]}
        body = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, sub: str, *, roles: list[str], **claims: Any) -> str:
        import jwt

        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "acr": "substantial",
            "amr": ["otp"],
            "roles": roles,
        } | claims
        return jwt.encode(
            body, self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"}
        )


# --- platform ---------------------------------------------------------------------------------


async def prepare_database(admin_url: str) -> tuple[str, uuid.UUID]:
    """A migrated throwaway database with one employer in the directory replica."""
    from marfiq_pensions.app import MIGRATIONS
    from marfiq_shared.migrations import upgrade
    from marfiq_shared.testing import create_database

    url = await create_database(admin_url, prefix="marfiq_bench_pensions")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    employer = uuid.uuid4()
    await _execute(
        url,
        "INSERT INTO pensions.administrations (id, code, name_ar, name_fr, kind, parent_id, "
        "active, version, updated_at) VALUES ($1, 'MEN', 'وزارة التربية الوطنية', "
        "'Ministère de l''Éducation nationale', 'ministry', NULL, true, 1, now())",
        employer,
    )
    return url, employer


async def _connect(url: str) -> Any:
    import asyncpg
    from sqlalchemy.engine import make_url

    return await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


async def _execute(url: str, query: str, *args: Any) -> None:
    connection = await _connect(url)
    try:
        await connection.execute(query, *args)
    finally:
        await connection.close()


async def _fetch(url: str, query: str, *args: Any) -> list[Any]:
    connection = await _connect(url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def start_service(url: str, jwks_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": url,
        "MARFIQ_ISSUER": ISSUER,
        "MARFIQ_AUDIENCE": AUDIENCE,
        "MARFIQ_JWKS_URL": jwks_url,
        "LOG_LEVEL": "WARNING",
        "PENSIONS_PAYMENT_RUN_ENABLED": "false",
        "PENSIONS_DATABASE_POOL_SIZE": str(POOL_SIZE),
    }
    env.pop("AMQP_URL", None)
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "marfiq_pensions.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", "--workers", str(workers),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the service did not become ready")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _month(months_ago: int) -> str:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - months_ago
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --- CPU accounting ---------------------------------------------------------------------------
# Requests per second depend on what else the machine runs; the CPU time our processes and
# the bench database's Postgres backends spend per unit of work hardly does.


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """`root` and its descendants (uvicorn's worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


async def cpu_used(process: subprocess.Popen[bytes], url: str) -> dict[str, float]:
    """CPU seconds so far of the service's processes and of the backends serving it."""
    pids = await _fetch(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()",
    )
    return {
        "service": sum(_cpu_seconds(pid) for pid in _tree(process.pid)),
        "postgres": sum(_cpu_seconds(row["pid"]) for row in pids),
    }


def cpu_per(before: dict[str, float], after: dict[str, float], units: float) -> str:
    return ", ".join(
        f"{part} {1000 * (after[part] - before[part]) / units:.2f} ms" for part in after
    )


# --- declarations -----------------------------------------------------------------------------


def json_declaration(rows: int, period: str) -> bytes:
    people = [
        {
            "cin": f"BE{n:06d}",
            "days_worked": 30,
            "gross_salary": f"{6000 + n % 9000}.{n % 100:02d}",
            "birth_date": "1975-06-15",
            "last_name": f"Nom{n}",
            "first_name": "Prénom",
            "phone": f"06{n:08d}" if n % 5 == 0 else None,
        }
        for n in range(rows)
    ]
    return json.dumps({"period": period, "regime": "civil", "rows": people}).encode()


def csv_declaration(numbers: dict[str, str], period: str) -> bytes:
    lines = ["cin,affiliation_number,period,days_worked,gross_salary"]
    for n, (cin, number) in enumerate(sorted(numbers.items())):
        lines.append(f"{cin},{number},{period},30,{6100 + n % 9000}.{n % 100:02d}")
    return ("\n".join(lines) + "\n").encode()


async def declare(
    base: str, token: str, body: bytes, content_type: str, *, params: dict[str, str]
) -> dict[str, Any]:
    """Post a declaration and wait until it is processed; rows/s over the whole way."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        started = time.perf_counter()
        response = await client.post(
            "/v1/pensions/declarations", content=body, headers=headers, params=params
        )
        if response.status_code != 202:
            raise RuntimeError(f"declaration refused: {response.status_code} {response.text}")
        accepted = time.perf_counter() - started
        location = response.headers["Location"]
        while True:
            report = (await client.get(location, headers=headers)).json()
            if report["status"] == "processed":
                break
            # Each look is a request the service serves while it processes: every 50 ms
            # costs it little and adds at most 50 ms to a round of seconds.
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    if report["rejected"]:
        raise RuntimeError(f"{report['rejected']} rows refused: {report['errors'][:3]}")
    return {
        "rows": report["rows"],
        "accepted_s": accepted,
        "elapsed_s": elapsed,
        "rows_per_s": report["rows"] / elapsed,
    }


async def warm_up(base: str, token: str, workers: int) -> None:
    """Authenticated requests before the clock runs, on fresh connections so that every
    uvicorn worker serves some: a service in use has fetched the signing keys (and imported
    its HTTP client) in each of its processes long before a declaration arrives. With one
    request, a second worker paid for that during the first declaration."""
    import httpx

    for _ in range(8 * workers):
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            response = await client.get(
                "/v1/pensions/declarations", headers={"Authorization": f"Bearer {token}"}
            )
        if response.status_code != 200:
            raise RuntimeError(f"warm-up refused: {response.status_code} {response.text}")


# --- simulations ------------------------------------------------------------------------------


def wrk(base: str, *, connections: int, duration: float, script: Path, tokens: Path) -> Any:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
        "--timeout", "10s", "-s", str(script), f"{base}/v1/pensions/me/simulations",
        "--", str(tokens),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    p99 = float(latency.group(1)) if latency else float("nan")
    if latency and latency.group(2) == "us":
        p99 /= 1000
    elif latency and latency.group(2) == "s":
        p99 *= 1000
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "failed": int(errors.group(1)) if errors else 0,
        "p99_ms": p99,
    }


async def check_simulation(base: str, token: str) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            "/v1/pensions/me/simulations",
            json={"retirement_date": "2040-01-01", "salary_growth": "0.02"},
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code != 200:
        raise RuntimeError(f"simulation refused: {response.status_code} {response.text}")


# --- the run ----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    from marfiq_pensions.settings import PensionsSettings
    from marfiq_shared.testing import drop_database, postgres_admin_url

    settings = PensionsSettings()  # the defaults the service runs with (and PENSIONS_* set)
    admin = postgres_admin_url()
    url, employer = await prepare_database(admin)
    signer = Signer()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_service(url, signer.url, port, args.workers)
    scratch = Path(tempfile.mkdtemp(prefix="bench_pensions_"))
    try:
        await asyncio.to_thread(wait_ready, base, process)
        client = signer.token(
            f"client-{uuid.uuid4().hex[:8]}",
            roles=["client"],
            adm=str(employer),
            scope="pensions:declare",
            acr="low",
        )
        await warm_up(base, client, args.workers)
        print(
            f"pensions bench: {args.rows:,} rows a declaration; {args.workers} uvicorn "
            f"worker(s); chunks of {settings.declaration_chunk_rows:,} rows, "
            f"{settings.declaration_concurrency} at a time per worker; database pool "
            f"{POOL_SIZE}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"  {'declaration':<40} {'rows':>8} {'202 after':>10} {'processed':>10} {'rows/s':>9}"
        )
        results: list[tuple[str, dict[str, Any]]] = []

        async def measured(label: str, body: bytes, content_type: str) -> None:
            before = await cpu_used(process, url)
            result = await declare(base, client, body, content_type, params={})
            result["cpu"] = cpu_per(before, await cpu_used(process, url), result["rows"] / 1000)
            results.append((label, result))
            print(
                f"  {label:<40} {result['rows']:>8,} {result['accepted_s']:>9.2f}s "
                f"{result['elapsed_s']:>9.2f}s {result['rows_per_s']:>9,.0f}\n"
                f"  {'':<40} CPU per 1,000 rows: {result['cpu']}",
                flush=True,
            )

        first = json_declaration(args.rows, _month(3))
        await measured("first month, JSON, every employee new", first, "application/json")
        numbers = {
            row["cin"]: row["affiliation_number"]
            for row in await _fetch(url, "SELECT cin, affiliation_number FROM pensions.affiliates")
        }
        csv = csv_declaration(numbers, _month(2))
        await measured("next month, CSV, every employee known", csv, "text/csv")
        await measured("same month again (replaces it)", csv, "text/csv")
        steady = min(result["rows_per_s"] for _, result in results)

        # Simulations: 25 years of recorded service before the declared months.
        await _execute(
            url,
            "INSERT INTO pensions.career_periods (id, affiliate_id, employer_id, employer_name, "
            "grade, start_date, end_date, monthly_salary, days, created_at) "
            "SELECT gen_random_uuid(), id, $1, NULL, 'Administrateur', DATE '1998-01-01', "
            "DATE '2022-12-31', 5000 + (hashtext(cin) & 4095), NULL, now() "
            "FROM pensions.affiliates",
            employer,
        )
        people = sorted(numbers)[: args.citizens]
        tokens = scratch / "tokens.txt"
        tokens.write_text(
            "\n".join(signer.token(str(uuid.uuid4()), roles=["citizen"], cin=cin) for cin in people)
            + "\n"
        )
        script = scratch / "simulate.lua"
        script.write_text(SIMULATE_LUA)
        await check_simulation(base, tokens.read_text().split("\n", 1)[0])
        wrk(base, connections=args.connections, duration=2, script=script, tokens=tokens)
        before = await cpu_used(process, url)
        simulations = wrk(
            base, connections=args.connections, duration=args.duration, script=script,
            tokens=tokens,
        )  # fmt: skip
        simulation_cpu = cpu_per(
            before, await cpu_used(process, url), simulations["rps"] * args.duration
        )
        if simulations["failed"]:
            raise RuntimeError(f"{simulations['failed']} simulations were not answered 200")
        print(
            f"  simulations: {simulations['rps']:,.0f}/s, p99 {simulations['p99_ms']:.1f} ms "
            f"({args.connections} connections, {len(people)} citizens, {args.duration:.0f} s)"
        )
        print(f"  CPU per simulation: {simulation_cpu}")
        print()
        print(f"declaration rows/s (slowest round): {steady:,.0f}   target >= 20,000")
        print(f"simulations/s:                      {simulations['rps']:,.0f}   target >= 1,000")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        signer.server.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
        await drop_database(admin, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows a declaration")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of simulations")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--citizens", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_pensions needs wrk (apt-get install -y wrk)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
