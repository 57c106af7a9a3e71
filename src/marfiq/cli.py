"""`marfiq`: the launcher and the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import os

from marfiq.services import SERVICES, service


def _database_url() -> str:
    from marfiq.distributed import DEFAULT_DATABASE_URL

    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marfiq", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="embedded mode: one process, embedded Postgres")
    commands.add_parser("run-distributed", help="one process per service, Postgres + RabbitMQ")
    migrate = commands.add_parser("migrate", help="apply migrations (all services or one)")
    migrate.add_argument("--service", choices=[spec.name for spec in SERVICES])
    commands.add_parser("seed", help="load the administrations directory seed")
    args = parser.parse_args(argv)

    if args.command == "run":
        from marfiq.embedded import main as run_embedded

        run_embedded()
    elif args.command == "run-distributed":
        from marfiq.distributed import main as run_distributed

        run_distributed()
    elif args.command == "migrate":
        from marfiq_shared.migrations import upgrade

        for spec in [service(args.service)] if args.service else SERVICES:
            upgrade(spec.migrations, _database_url())
            print(f"{spec.name}: migrated")
    elif args.command == "seed":
        from marfiq_identity.administrations.seed import seed_directory

        created = asyncio.run(seed_directory(_database_url()))
        print(f"administrations seeded: {created} new")


if __name__ == "__main__":
    main()
