"""Distributed mode: one process per service and the gateway, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

from marfiq.services import GATEWAY_PORT, SERVICES, service
from marfiq_shared.migrations import upgrade
from marfiq_shared.settings import MarfiqSettings

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/marfiq"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def default_ports() -> dict[str, int]:
    return {"gateway": GATEWAY_PORT} | {spec.name: spec.port for spec in SERVICES}


def platform_env(
    base: Mapping[str, str] | None = None, ports: Mapping[str, int] | None = None
) -> dict[str, str]:
    """The environment every process of the platform shares."""
    ports = ports or default_ports()
    env = dict(base if base is not None else os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("AMQP_URL", DEFAULT_AMQP_URL)
    # Every request reaches identity through the gateway on loopback: its X-Forwarded-For
    # names the client, or every citizen would share one per-address sending limit.
    env.setdefault("IDENTITY_TRUSTED_PROXIES", '["127.0.0.1/32"]')
    env.setdefault("MARFIQ_ISSUER", f"http://127.0.0.1:{ports['gateway']}")
    env.setdefault("MARFIQ_JWKS_URL", f"http://127.0.0.1:{ports['identity']}/.well-known/jwks.json")
    for spec in SERVICES:
        env.setdefault(f"GATEWAY_{spec.name.upper()}_URL", f"http://127.0.0.1:{ports[spec.name]}")
    return env


def uvicorn_command(factory: str, port: int, *, workers: int = 1) -> list[str]:
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
    ]


def migrate_all(database_url: str) -> None:
    for spec in SERVICES:
        upgrade(spec.migrations, database_url)


async def declare_topology(amqp_url: str) -> None:
    """Declare every service's queue and bindings, as a deployment step before any start.

    The exchange routes an event only to queues that exist: without this, events published
    on the very first start (the directory seed) before a consumer first subscribed would be
    dropped. Later starts find the durable queues in place.
    """
    import importlib

    from marfiq_shared.events.rabbitmq import RabbitMQTransport

    for spec in SERVICES:
        module = importlib.import_module(f"{spec.package}.subscriptions")
        subscriptions = module.SUBSCRIPTIONS
        retired = getattr(module, "RETIRED", ())
        if not subscriptions and not retired:
            continue
        service_settings = _settings_of(spec.package)
        transport = RabbitMQTransport(
            amqp_url, service_settings.event_exchange, name=f"{spec.name}-setup"
        )
        await transport.open()
        try:
            await transport.declare(
                service_settings.event_queue_prefix + service_settings.service_name,
                list(subscriptions),
                retry_delays_ms=service_settings.event_retry_delays_ms,
                retired=retired,
            )
        finally:
            await transport.close()


async def delete_topology(amqp_url: str, exchange: str, queue_prefix: str) -> None:
    """Remove what a throwaway platform (a test run, a bench) declared on a shared broker:
    every service's queue with its retry and dead-letter queues, this host's gateway
    revocation queue, and the exchanges. Quorum queues left behind cost the broker memory
    and a process each."""
    import socket

    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        bases = [f"{queue_prefix}{spec.name}-service" for spec in SERVICES]
        # Each gateway replica listens on its own revocation queue, named after its host.
        bases.append(f"{queue_prefix}gateway.revocations.{socket.gethostname()}")
        for base in bases:
            for name in (base, f"{base}.dlq", *(f"{base}.retry.{n}" for n in range(1, 6))):
                try:
                    await channel.queue_delete(name)
                except aio_pika.exceptions.AMQPError:
                    channel = await connection.channel()
        for name in (exchange, f"{exchange}.retry", f"{exchange}.dlx"):
            try:
                await channel.exchange_delete(name)
            except aio_pika.exceptions.AMQPError:
                channel = await connection.channel()


def _settings_of(package: str) -> MarfiqSettings:
    """The service's own settings (its prefix, queue name and retry delays), from the env."""
    import importlib

    module = importlib.import_module(f"{package}.settings")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, MarfiqSettings)
        and value is not MarfiqSettings
    ]
    return classes[0]()


GATEWAY_FACTORY = "marfiq_gateway.app:create_app"


def start_process(
    name: str, env: Mapping[str, str], port: int, *, workers: int = 1
) -> subprocess.Popen[bytes]:
    """Start one part of the platform (a service by name, or "gateway") as its own process."""
    factory = GATEWAY_FACTORY if name == "gateway" else service(name).factory
    # No part lets uvicorn rewrite the client's address from X-Forwarded-For: the gateway is
    # the edge, where a client must not choose the address it is seen from
    # (GATEWAY_TRUST_FORWARDED_HEADERS opts in behind a trusted load balancer), and identity,
    # the only service that needs the address, reads the header itself, trusting only
    # IDENTITY_TRUSTED_PROXIES. The rewrite cost ~3 % of a service's CPU for nothing.
    command = [*uvicorn_command(factory, port, workers=workers), "--no-proxy-headers"]
    return subprocess.Popen(command, env=dict(env))  # noqa: S603 (our own interpreter)


def start_processes(
    env: Mapping[str, str], *, ports: Mapping[str, int] | None = None, workers: int = 1
) -> dict[str, subprocess.Popen[bytes]]:
    """Start every service, then the gateway."""
    ports = ports or default_ports()
    names = [spec.name for spec in SERVICES] + ["gateway"]
    return {name: start_process(name, env, ports[name], workers=workers) for name in names}


def main() -> None:
    """`make run-distributed`: migrate, seed, start five processes, stop them on Ctrl-C."""
    env = platform_env()
    os.environ.update(env)
    migrate_all(env["DATABASE_URL"])
    asyncio.run(declare_topology(env["AMQP_URL"]))
    from marfiq_identity.administrations.seed import seed_directory

    asyncio.run(seed_directory(env["DATABASE_URL"]))
    processes = start_processes(env)
    print(f"Marfiq (distributed) is running: http://127.0.0.1:{GATEWAY_PORT}/docs", flush=True)
    try:
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
