"""Gateway overhead: an authenticated GET served by a service directly vs through the gateway.

Run: `.venv/bin/python bench/bench_gateway.py [--duration 10] [--connections 50]`.

Two processes, as in the distributed mode: a service (uvicorn, uvloop + httptools, access
log off) and the gateway (`python -m marfiq_gateway`, same server settings) in front of it.
The load generator is `wrk` when installed (`apt-get install -y wrk`), otherwise an aiohttp
generator in a process of its own; the output says which.

The service is a minimal app built the way `marfiq_shared.service` builds every service
(RequestContextMiddleware, problem handlers, the shared TokenVerifier as a dependency) with
one authenticated route, `GET /v1/me` answering the caller's principal. It does not need a
database, so the figures isolate what the gateway adds: routing, token verification (cached
after the first request, as in production), header filtering, the extra HTTP hop.

On a machine with two CPUs or more the service runs alone on the last one and the gateway
and the load generator share the others (`--no-pin` lets the scheduler decide instead): left
free, the scheduler moves the service onto the CPU of the gateway that just woke it, and the
two end up taking turns on one core. Direct and gateway runs alternate for `--rounds`, and the
medians are compared, so that a busy neighbour on a shared machine weighs on both alike.

The targets: `GET /v1/me`, and `POST /v1/me/filings` with the JSON body of a complaint
filing (validated by a Pydantic model, answered 201), each directly and through the gateway.
Two measurements per target:
- throughput: `--connections` concurrent connections for `--duration` seconds (req/s);
- latency: one connection, so that p50/p99 show the cost of a request, not queueing.
Targets: the gateway keeps >= 60% of direct throughput and adds <= 2 ms at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# At module level: FastAPI resolves the route's (postponed) annotations in these globals.
from pydantic import BaseModel, Field

from marfiq_shared.auth import CurrentPrincipal

# The body of a complaint filing, the platform's busiest POST (bench_complaints.py).
FILING = (
    '{"administration_id":"5b1f7c2e-8a0d-4c55-9a3e-2f4b6d8e0a11","kind":"complaint",'
    '"subject":"Réclamation de charge 1","description":"Le guichet a refusé mon dossier '
    'sans motif écrit. شكاية رقم 1"}'
).encode()


class Filing(BaseModel):
    administration_id: uuid.UUID
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=200)
    description: str = Field(max_length=10_000)


ROOT = Path(__file__).resolve().parent.parent
ISSUER = "http://bench.marfiq.test"
AUDIENCE = "marfiq"


# --- the service ----------------------------------------------------------------------------


def service_app() -> Any:
    """A minimal Marfiq service: shared middleware, problems, token verification."""
    from fastapi import FastAPI

    from marfiq_shared.auth import JwksCache, TokenVerifier
    from marfiq_shared.middleware import RequestContextMiddleware
    from marfiq_shared.problems import install_problem_handlers

    jwks = json.loads(Path(os.environ["BENCH_JWKS_FILE"]).read_text())

    async def fetch_jwks() -> dict[str, Any]:
        return jwks

    app = FastAPI(title="bench service")
    app.state.token_verifier = TokenVerifier(
        JwksCache(fetch_jwks), issuer=ISSUER, audience=AUDIENCE
    )
    install_problem_handlers(app)

    @app.get("/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"sub": principal.sub, "roles": sorted(principal.roles), "acr": principal.acr}

    @app.post("/v1/me/filings", status_code=201)
    async def file(filing: Filing, principal: CurrentPrincipal) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "sub": principal.sub, "subject": filing.subject}

    @app.get("/.well-known/jwks.json")
    async def keys() -> dict[str, Any]:
        return jwks

    app.add_middleware(
        RequestContextMiddleware, service="bench", max_body_bytes=1_048_576, default_language="fr"
    )
    return app


# --- keys and token -------------------------------------------------------------------------


def make_keys(directory: Path) -> tuple[Path, str]:
    """Write a JWKS with one fresh ES256 key; return its path and a token it verifies."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP256R1())
    kid = uuid.uuid4().hex[:12]
    public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    path = directory / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": kid, "use": "sig", "alg": "ES256"}]}))
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "bench-citizen",
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "acr": "low",
            "roles": ["citizen"],
        },
        key,
        algorithm="ES256",
        headers={"kid": kid, "typ": "at+jwt"},
    )
    return path, token


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Placement:
    """CPUs of each process; None leaves the scheduler free."""

    service: frozenset[int] | None = None
    gateway: frozenset[int] | None = None
    load: frozenset[int] | None = None


def placement(pin: bool) -> Placement:
    """The service alone on one core; the gateway and the load generator on the others.

    Unpinned, the scheduler's wake-affine logic keeps pulling the service onto the CPU of
    the gateway that just wrote to it, so the two serialise on one core while the other
    idles; in production each runs on its own resources anyway.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return Placement()
    rest = frozenset(cpus[:-1])
    return Placement(service=frozenset(cpus[-1:]), gateway=rest, load=rest)


def on_cpus(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A `preexec_fn` pinning the child (and the threads it starts) to `cpus`."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def wait_until_up(url: str, token: str, process: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_service(
    port: int, env: dict[str, str], cpus: frozenset[int] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--serve-service", str(port)],
        env=env,
        cwd=ROOT,
        preexec_fn=on_cpus(cpus),
    )


def start_gateway(
    port: int, service_port: int, env: dict[str, str], cpus: frozenset[int] | None
) -> subprocess.Popen[bytes]:
    service = f"http://127.0.0.1:{service_port}"
    gateway_env = {
        **env,
        "GATEWAY_PORT": str(port),
        "GATEWAY_IDENTITY_URL": service,
        "MARFIQ_JWKS_URL": service + "/.well-known/jwks.json",
        "LOG_LEVEL": "ERROR",
        # One load generator is one client address: keep the limiter counting every request
        # (its cost is part of the hot path) but never refusing.
        "GATEWAY_RATE_LIMIT_PER_ADDRESS": "1000000000",
        "GATEWAY_RATE_LIMIT_PER_CLIENT": "1000000000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "marfiq_gateway"],
        env=gateway_env,
        cwd=ROOT,
        preexec_fn=on_cpus(cpus),
    )


def serve_service(port: int) -> None:
    import uvicorn

    uvicorn.run(
        service_app(),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


# --- load generators ------------------------------------------------------------------------


def run_wrk(
    url: str,
    token: str,
    connections: int,
    duration: float,
    body: bytes | None = None,
    cpus: frozenset[int] | None = None,
) -> dict[str, float]:
    """wrk GETs, or POSTs of the JSON `body`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8") as script:
        if body is not None:
            # A Lua long string holds the JSON as it is (no quote to escape).
            script.write(
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = [==[{body.decode()}]==]\n"
            )
        script.flush()
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--latency",
                "-H",
                f"Authorization: Bearer {token}",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=on_cpus(cpus),
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {url}")
    return {
        "rps": rate,
        "p50_ms": _wrk_ms(output, "50%"),
        "p99_ms": _wrk_ms(output, "99%"),
    }


def _wrk_ms(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        raise RuntimeError(f"no {percentile} in wrk output:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_aiohttp(
    url: str,
    token: str,
    connections: int,
    duration: float,
    body: bytes | None = None,
    cpus: frozenset[int] | None = None,
) -> dict[str, float]:
    """The fallback generator, in its own process so that it does not share our loop."""
    command = [sys.executable, __file__, "--load", url, token, str(connections), str(duration)]
    output = subprocess.run(
        command + ([body.decode()] if body is not None else []),
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=on_cpus(cpus),
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def aiohttp_load(
    url: str, token: str, connections: int, duration: float, body: bytes | None = None
) -> None:
    import aiohttp
    import uvloop

    async def main() -> dict[str, float]:
        latencies: list[float] = []
        failures = 0
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        method, expected = ("POST", 201) if body is not None else ("GET", 200)
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            end = time.perf_counter() + duration

            async def worker() -> None:
                nonlocal failures
                while time.perf_counter() < end:
                    started = time.perf_counter()
                    async with session.request(method, url, headers=headers, data=body) as response:
                        await response.read()
                        failures += response.status != expected
                    latencies.append(time.perf_counter() - started)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - began
        if failures:
            raise RuntimeError(f"{failures} failed responses from {url}")
        latencies.sort()
        return {
            "rps": len(latencies) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        }

    print(json.dumps(uvloop.run(main())))


# --- the benchmark --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux procfs)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    targets: dict[str, tuple[str, bytes | None]],
    token: str,
    args: argparse.Namespace,
    load: Any,
    processes: dict[str, int],
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Alternate the targets (a URL, and the body POSTed to it or None for a GET) round by
    round, so that a noisy neighbour hits them all alike.

    Besides rates and latencies, each throughput run records the CPU time every process of
    `processes` spent per request: a figure a busy neighbour disturbs far less.
    """
    results: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {"throughput": [], "latency": []} for name in targets
    }
    for url, body in targets.values():
        # Warm-up: pools, caches.
        load(url, token, args.connections, min(2.0, args.duration), body)
    for round_ in range(1, args.rounds + 1):
        for name, (url, body) in targets.items():
            before = {role: cpu_seconds(pid) for role, pid in processes.items()}
            throughput = load(url, token, args.connections, args.duration, body)
            served = throughput["rps"] * args.duration
            for role, pid in processes.items():
                throughput[f"{role}_cpu_us"] = (cpu_seconds(pid) - before[role]) / served * 1e6
            latency = load(url, token, 1, max(3.0, args.duration / 2), body)
            results[name]["throughput"].append(throughput)
            results[name]["latency"].append(latency)
            cpu = ", ".join(
                f"{role} {throughput[f'{role}_cpu_us']:.0f} us"
                for role in processes
                if throughput[f"{role}_cpu_us"] >= 1
            )
            print(
                f"round {round_} {name:<12} {throughput['rps']:>7.0f} req/s"
                f" (p50 {throughput['p50_ms']:6.2f} ms, p99 {throughput['p99_ms']:7.2f} ms;"
                f" CPU per request: {cpu})"
                f" | one connection: p50 {latency['p50_ms']:6.3f} ms,"
                f" p99 {latency['p99_ms']:6.3f} ms",
                flush=True,
            )
    return results


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="alternated measurements")
    parser.add_argument("--generator", choices=["auto", "wrk", "aiohttp"], default="auto")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the scheduler place the processes"
    )
    parser.add_argument("--serve-service", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_service:
        serve_service(args.serve_service)
        return
    if args.load:
        url, token, connections, duration, *body = args.load
        aiohttp_load(
            url, token, int(connections), float(duration), body[0].encode() if body else None
        )
        return

    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    where = placement(not args.no_pin)
    load = functools.partial(run_wrk if use_wrk else run_aiohttp, cpus=where.load)
    print(
        f"load generator: {'wrk (1 thread)' if use_wrk else 'aiohttp (separate process)'}; "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} before start; "
        f"{args.connections} connections x {args.duration:.0f} s; "
        "service: minimal app with the shared TokenVerifier (no database); "
        + (
            f"CPUs: service {sorted(where.service)}, gateway {sorted(where.gateway or ())}, "
            f"load generator {sorted(where.load or ())}"
            if where.service
            else "processes not pinned"
        ),
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        jwks_file, token = make_keys(Path(scratch))
        env = {
            **os.environ,
            "BENCH_JWKS_FILE": str(jwks_file),
            "MARFIQ_ISSUER": ISSUER,
            "MARFIQ_AUDIENCE": AUDIENCE,
        }
        service_port, gateway_port = free_port(), free_port()
        service = start_service(service_port, env, where.service)
        gateway = start_gateway(gateway_port, service_port, env, where.gateway)
        try:
            direct_url = f"http://127.0.0.1:{service_port}/v1/me"
            gateway_url = f"http://127.0.0.1:{gateway_port}/v1/me"
            wait_until_up(direct_url, token, service)
            wait_until_up(gateway_url, token, gateway)
            results = measure(
                {
                    "direct": (direct_url, None),
                    "gateway": (gateway_url, None),
                    "direct POST": (direct_url + "/filings", FILING),
                    "gateway POST": (gateway_url + "/filings", FILING),
                },
                token,
                args,
                load,
                {"service": service.pid, "gateway": gateway.pid},
            )
        finally:
            for process in (gateway, service):
                process.terminate()
            for process in (gateway, service):
                process.wait(timeout=10)
    summary = {
        name: {
            "rps": median([run["rps"] for run in runs["throughput"]]),
            "p50_ms": median([run["p50_ms"] for run in runs["latency"]]),
            "p99_ms": median([run["p99_ms"] for run in runs["latency"]]),
            "service_cpu_us": median([run["service_cpu_us"] for run in runs["throughput"]]),
            "gateway_cpu_us": median([run["gateway_cpu_us"] for run in runs["throughput"]]),
        }
        for name, runs in results.items()
    }
    for method, suffix in (("GET", ""), ("POST", " POST")):
        direct, through = summary["direct" + suffix], summary["gateway" + suffix]
        ratio = through["rps"] / direct["rps"]
        added = through["p50_ms"] - direct["p50_ms"]
        print(
            f"{method} median of {args.rounds}: direct {direct['rps']:.0f} req/s, "
            f"gateway {through['rps']:.0f} req/s; one connection p50 "
            f"{direct['p50_ms']:.3f} ms -> {through['p50_ms']:.3f} ms, p99 "
            f"{direct['p99_ms']:.3f} ms -> {through['p99_ms']:.3f} ms"
        )
        print(
            f"{method} CPU per request: service {direct['service_cpu_us']:.0f} us when called "
            f"directly; through the gateway, gateway {through['gateway_cpu_us']:.0f} us + "
            f"service {through['service_cpu_us']:.0f} us"
        )
        print(
            f"{method} gateway keeps {ratio:.0%} of direct throughput (target >= 60%); "
            f"adds {added:.3f} ms at p50 (target <= 2 ms)"
        )


if __name__ == "__main__":
    main()
