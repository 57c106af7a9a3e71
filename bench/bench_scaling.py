"""The scaling curve: complaint filings per second through the gateway with 1, then 2,
uvicorn worker processes per service (the gateway too), on this machine, from one run.

Run: `.venv/bin/python bench/bench_scaling.py [--workers 1 2] [--duration 10] [--rounds 2]`.

The platform is bench_complaints.py's (same database, tokens, wrk script and CPU
accounting): identity, complaints and the gateway in distributed mode, each started with
the row's worker count, on one throwaway database. For each row: a warm-up, then
`--rounds` runs of `--connections` connections for `--duration` seconds through the
gateway (the best round is kept); every answer must be 201. Each row gives the rate, p50
and p99, and the CPU our processes spent per filing (all workers of a part summed). On a
2-core machine shared with Postgres, RabbitMQ and wrk, a second worker can only use what
the first left idle: the CPU column says what the rate cannot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys

from bench_complaints import bench_platform, cpu_summary, describe_machine, pool_size


async def run(args: argparse.Namespace) -> None:
    print(describe_machine(), flush=True)
    rows: list[tuple[int, dict[str, float], float]] = []
    async with bench_platform(args.administrations, args.citizens) as bench:
        url = bench.gateway + "/v1/complaints"
        for workers in args.workers:
            await bench.start(
                {"identity": workers, "complaints": workers, "gateway": workers},
                pool=pool_size(args, workers),
            )
            try:
                # Warm-up: every worker's pools, prepared statements and token caches.
                await asyncio.to_thread(
                    bench.submissions, url, connections=args.connections, duration=3
                )
                rounds = []
                for round_ in range(args.rounds):
                    result = await asyncio.to_thread(
                        bench.submissions,
                        url,
                        connections=args.connections,
                        duration=args.duration,
                    )
                    rounds.append(result)
                    print(
                        f"  {workers} worker(s) round {round_ + 1}: {result['rps']:6.0f} "
                        f"filings/s (p50 {result['p50_ms']:.1f} ms, p99 "
                        f"{result['p99_ms']:.1f} ms); CPU ms per filing: {cpu_summary(result)}; "
                        f"load average {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
            finally:
                bench.stop()
            best = max(rounds, key=lambda result: result["rps"])
            rows.append((workers, best, os.getloadavg()[0]))

    print(
        f"\nRESULT scaling curve: filings through the gateway, wrk {args.connections} "
        f"connections, best of {args.rounds} x {args.duration:.0f} s per row"
    )
    print(
        f"{'workers per service':>20} {'filings/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms per filing (identity, complaints, gateway, postgres)':>80} {'load':>5}"
    )
    for workers, result, load in rows:
        print(
            f"{workers:>20} {result['rps']:>10.0f} {result['p50_ms']:>8.1f} "
            f"{result['p99_ms']:>8.1f} {cpu_summary(result):>80} {load:>5.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--administrations", type=int, default=200)
    parser.add_argument(
        "--pool", type=int, default=0, help="complaints connections per worker (0: enough)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_scaling needs wrk (apt-get install -y wrk)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
