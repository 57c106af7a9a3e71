"""`marfiq`: the launcher and the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from marfiq.services import SERVICES, service


def _database_url() -> str:
    from marfiq.distributed import DEFAULT_DATABASE_URL

    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def _parser() -> argparse.ArgumentParser:
    names = [spec.name for spec in SERVICES]
    parser = argparse.ArgumentParser(prog="marfiq", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="embedded mode: one process, embedded Postgres")
    commands.add_parser("run-distributed", help="one process per service, Postgres + RabbitMQ")
    migrate = commands.add_parser("migrate", help="apply migrations (all services or one)")
    migrate.add_argument("--service", choices=names)
    commands.add_parser("seed", help="load the administrations directory seed")

    admin = commands.add_parser("create-admin", help="create a platform administrator")
    admin.add_argument("--email", required=True)
    admin.add_argument("--language", choices=["ar", "fr", "en"], default="fr")

    administration = commands.add_parser("create-administration", help="add an administration")
    administration.add_argument("--code", required=True)
    administration.add_argument("--name-fr", required=True)
    administration.add_argument("--name-ar", required=True)
    administration.add_argument("--kind", required=True, choices=_administration_kinds())
    administration.add_argument("--parent", metavar="CODE", help="code of the parent")

    client = commands.add_parser(
        "create-client", help="register a partner client (prints its secret once)"
    )
    client.add_argument("--administration", metavar="CODE", required=True)
    client.add_argument("--name", required=True)
    client.add_argument(
        "--scopes", required=True, help="comma- or space-separated, e.g. complaints:read"
    )

    rotate = commands.add_parser("rotate-keys", help="make a new token signing key current")
    rotate.add_argument(
        "--revoke-previous",
        action="store_true",
        help="withdraw the previous keys from the JWKS now (tokens they signed stop working)",
    )

    dlq = commands.add_parser("dlq", help="inspect and replay a service's dead-letter queue")
    dlq.add_argument("action", choices=["list", "peek", "replay"])
    dlq.add_argument("--service", choices=names, help="required for peek and replay")
    dlq.add_argument("--limit", type=int, help="peek: how many (default 10); replay: at most")
    dlq.add_argument("--json", action="store_true")

    commands.add_parser("config-table", help="print every environment variable (README table)")

    lag = commands.add_parser("outbox-lag", help="unpublished events per service and their age")
    lag.add_argument("--json", action="store_true")
    lag.add_argument(
        "--fail-above",
        type=float,
        metavar="SECONDS",
        help="exit with status 2 when an unpublished event is older (for monitoring)",
    )
    return parser


def _administration_kinds() -> list[str]:
    from marfiq_identity.administrations.models import AdministrationKind

    return [kind.value for kind in AdministrationKind]


def _identity_database_url() -> str:
    """Identity's own URL (IDENTITY_DATABASE_URL), else DATABASE_URL."""
    from marfiq.operations import service_settings

    return service_settings("identity").database_url


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    from marfiq.operations import OperatorError

    try:
        status = _run(args)
    except OperatorError as error:
        print(f"marfiq {args.command}: {error}", file=sys.stderr)
        status = 1
    if status:
        sys.exit(status)


def _run(args: argparse.Namespace) -> int:
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
        if amqp_url := os.environ.get("AMQP_URL"):
            # The broker's part of a migration: queues and bindings exist before any start.
            from marfiq.distributed import declare_topology

            asyncio.run(declare_topology(amqp_url))
            print("event queues and bindings declared")
    elif args.command == "seed":
        from marfiq_identity.administrations.seed import seed_directory

        created = asyncio.run(seed_directory(_database_url()))
        print(f"administrations seeded: {created} new")
    elif args.command == "config-table":
        from marfiq.configuration import markdown_table

        print(markdown_table())
    else:
        return _operate(args)
    return 0


def _operate(args: argparse.Namespace) -> int:
    from marfiq import operations

    if args.command == "create-admin":
        account = asyncio.run(
            operations.create_admin(
                _identity_database_url(), email=args.email, language=args.language
            )
        )
        print(f"platform administrator {args.email}: account {account}")
    elif args.command == "create-administration":
        created = asyncio.run(
            operations.create_administration(
                _identity_database_url(),
                code=args.code,
                name_fr=args.name_fr,
                name_ar=args.name_ar,
                kind=args.kind,
                parent_code=args.parent,
            )
        )
        print(f"administration {args.code}: {created}")
    elif args.command == "create-client":
        scopes = [scope for scope in args.scopes.replace(",", " ").split() if scope]
        client = asyncio.run(
            operations.create_client(
                _identity_database_url(),
                administration_code=args.administration,
                name=args.name,
                scopes=scopes,
            )
        )
        print(f"client_id:     {client.client_id}")
        print(f"client_secret: {client.client_secret}")
        print(f"scopes:        {' '.join(client.scopes)}")
        print("The secret is shown this once and kept only hashed: hand it over now.")
    elif args.command == "rotate-keys":
        kid = asyncio.run(operations.rotate_keys(revoke_previous=args.revoke_previous))
        print(f"signing key {kid} is current; replicas sign with it at their next key check")
    elif args.command == "dlq":
        return _dlq(args)
    elif args.command == "outbox-lag":
        return _outbox_lag(args)
    return 0


def _dlq(args: argparse.Namespace) -> int:
    from marfiq import operations

    if args.action == "list":
        names = [args.service] if args.service else [spec.name for spec in SERVICES]
        counts = asyncio.run(operations.dlq_counts(names))
        if args.json:
            _print_json(counts)
            return 0
        for name, count in counts.items():
            shown = "no queue (service never started?)" if count is None else str(count)
            print(f"{name:<16} {operations.dlq_of(name):<40} {shown}")
        return 0
    if args.service is None:
        raise operations.OperatorError(f"dlq {args.action} needs --service")
    from marfiq_shared.events.transport import UnknownQueue

    try:
        if args.action == "peek":
            letters = asyncio.run(operations.dlq_peek(args.service, limit=args.limit or 10))
            if args.json:
                _print_json([_letter(letter) for letter in letters])
                return 0
            for letter in letters:
                print(f"{letter.id}  {letter.type}  attempts={letter.attempts}  {letter.error}")
            print(f"{len(letters)} shown, left in {operations.dlq_of(args.service)}")
        else:
            moved = asyncio.run(operations.dlq_replay(args.service, limit=args.limit))
            if args.json:
                _print_json({"replayed": moved})
            else:
                print(f"{moved} dead letters sent back to {operations.queue_of(args.service)}")
    except UnknownQueue as missing:
        raise operations.OperatorError(f"no queue {missing} on this broker") from None
    return 0


def _letter(letter: Any) -> dict[str, Any]:
    return {
        "id": letter.id,
        "type": letter.type,
        "attempts": letter.attempts,
        "error": letter.error,
        "body": letter.body.decode("utf-8", "replace"),
    }


def _outbox_lag(args: argparse.Namespace) -> int:
    from marfiq import operations

    lags = asyncio.run(operations.outbox_lag())
    if args.json:
        _print_json([lag.__dict__ for lag in lags])
    else:
        print(f"{'service':<16} {'backlog':>8} {'oldest (s)':>11}")
        for lag in lags:
            age = "-" if lag.oldest_age_s is None else f"{lag.oldest_age_s:.1f}"
            print(f"{lag.service:<16} {lag.backlog:>8} {age:>11}")
    limit = args.fail_above
    late = limit is not None and any((lag.oldest_age_s or 0) > limit for lag in lags)
    return 2 if late else 0


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
