"""deploy/ is checked offline: Kubernetes manifests against the Kubernetes JSON schemas that
kubernetes-validate bundles, the compose file against the compose-spec schema that
check-jsonschema vendors (Apache-2.0), and the platform's own rules on top (every part has
its Deployment, Service, autoscaler, probes, limits, migration, health check, and every
variable it is given is one its settings really read). No cluster, no Docker, no network.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import kubernetes_validate.utils as kubernetes
import pytest
import yaml
from harness import report
from sqlalchemy.engine import make_url

from marfiq.services import SERVICES, service
from marfiq_shared.migrations import upgrade
from marfiq_shared.settings import SHARED_NAMES, MarfiqSettings
from marfiq_shared.testing import create_database, drop_database, postgres_admin_url, require_url

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.31.0"  # the oldest minor still supported upstream when written
SERVICE_NAMES = [spec.name for spec in SERVICES]
PARTS = [*SERVICE_NAMES, "gateway"]
PACKAGES = {spec.name: spec.package for spec in SERVICES} | {"gateway": "marfiq_gateway"}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access during offline validation: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def manifests() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield path, document


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def settings_class(part: str) -> type[MarfiqSettings]:
    module = importlib.import_module(f"{PACKAGES[part]}.settings")
    return next(
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, MarfiqSettings)
        and value is not MarfiqSettings
        and value.__module__ == module.__name__
    )


def known_variables(part: str) -> set[str]:
    """Every environment variable the part's settings read."""
    cls = settings_class(part)
    prefix = cls.model_config.get("env_prefix", "")
    names = {f"{prefix}{name}".upper() for name in cls.model_fields}
    names |= {name.upper() for name in SHARED_NAMES if name in cls.model_fields}
    for info in cls.model_fields.values():
        alias = info.validation_alias
        names |= {str(choice).upper() for choice in getattr(alias, "choices", [])}
    return names


# ---------------------------------------------------------------- schema validation


def test_every_kubernetes_manifest_validates_against_the_bundled_schemas(offline: None) -> None:
    checked = 0
    for _path, document in manifests():
        # strict: an unknown or misspelt field is an error, not silently dropped.
        kubernetes.validate(document, KUBERNETES_VERSION, strict=True)
        checked += 1
    report(f"{checked} Kubernetes objects valid for {KUBERNETES_VERSION} (strict)")
    assert checked >= 30


def test_the_validator_would_catch_a_misspelt_field(offline: None) -> None:
    deployment = objects("Deployment")["complaints"]
    broken = json.loads(json.dumps(deployment))
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes.ValidationError):
        kubernetes.validate(broken, KUBERNETES_VERSION, strict=True)


def test_compose_file_validates_against_the_compose_spec(offline: None) -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []


def test_generated_manifests_are_up_to_date() -> None:
    check = subprocess.run(
        [sys.executable, str(K8S / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    present = {p.name for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml"}
    assert set(kustomization["resources"]) == present


# ---------------------------------------------------------------- Kubernetes: every part


@pytest.mark.parametrize("part", PARTS)
def test_every_part_has_a_hardened_deployment_with_probes_and_resources(part: str) -> None:
    deployment = objects("Deployment")[part]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    # Otherwise the Service `gateway` injects GATEWAY_PORT=tcp://…, a setting of the gateway.
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("part", PARTS)
def test_every_part_has_a_service_and_an_autoscaler(part: str) -> None:
    deployment = objects("Deployment")[part]
    selected = objects("Service")[part]["spec"]["selector"]
    assert selected.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    hpa = objects("HorizontalPodAutoscaler")[part]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": part}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_has_a_migration_job_with_its_own_database_role(name: str) -> None:
    job = objects("Job")[f"{name}-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "/app/migrate.py"]
    assert (
        container["image"]
        == objects("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]["image"]
    )
    (variable,) = container["env"]
    assert variable["name"] == f"{name.upper()}_DATABASE_URL"
    assert variable["valueFrom"]["secretKeyRef"]["name"] == f"marfiq-{name}-db"
    example = objects("Secret")[f"marfiq-{name}-db"]["stringData"]["DATABASE_URL"]
    assert make_url(example).username == f"marfiq_{name}"


@pytest.mark.parametrize("part", PARTS)
def test_every_variable_given_to_a_part_is_one_its_settings_read(part: str) -> None:
    config_maps = objects("ConfigMap")
    (container,) = objects("Deployment")[part]["spec"]["template"]["spec"]["containers"]
    given = {variable["name"] for variable in container["env"]}
    for source in container["envFrom"]:
        given |= set(config_maps[source["configMapRef"]["name"]]["data"])
    unknown = given - known_variables(part)
    assert unknown == set(), f"{part} is given variables nothing reads: {unknown}"
    assert "AMQP_URL" in given


def test_every_referenced_secret_key_and_config_map_exists() -> None:
    secrets = {name: set(doc["stringData"]) for name, doc in objects("Secret").items()}
    config_maps = objects("ConfigMap")
    for _, document in manifests():
        text = json.dumps(document)
        for ref in re.findall(r'"secretKeyRef": (\{[^}]*\})', text):
            ref = json.loads(ref)
            assert ref["key"] in secrets[ref["name"]], ref
        for name in re.findall(r'"secretRef": \{"name": "([^"]+)"\}', text):
            assert name in secrets
        for name in re.findall(r'"configMapRef": \{"name": "([^"]+)"\}', text):
            assert name in config_maps
        for name in re.findall(r'"configMap": \{"name": "([^"]+)"\}', text):
            assert name in config_maps


def test_identity_secrets_come_from_a_secret() -> None:
    (container,) = objects("Deployment")["identity"]["spec"]["template"]["spec"]["containers"]
    from_secrets = {v["name"] for v in container["env"] if "secretKeyRef" in v["valueFrom"]}
    assert {"IDENTITY_KEY_ENCRYPTION_SECRET", "IDENTITY_OTP_SECRET"} <= from_secrets
    assert {"IDENTITY_DATABASE_URL", "AMQP_URL"} <= from_secrets


def test_rabbitmq_policy_applies_to_every_service_queue_and_its_dead_letters() -> None:
    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    (policy,) = definitions["policies"]
    assert definitions["vhosts"][0]["metadata"]["default_queue_type"] == "quorum"
    pattern = re.compile(policy["pattern"])
    for name in SERVICE_NAMES:
        queue = f"{name}-service"  # settings.service_name, the queue's name
        for candidate in (queue, f"{queue}.dlq", f"{queue}.retry.1"):
            assert pattern.search(candidate), candidate
    assert not pattern.search("gateway.revocations.abc")


# ---------------------------------------------------------------- images and compose


def test_dockerfile_has_a_non_root_target_per_part_with_a_livez_healthcheck() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE))
    assert set(PARTS) <= targets
    runtime = dockerfile.split("AS runtime", 1)[1].split("\nFROM ", 1)[0]
    assert re.search(r"^USER 10001", runtime, re.MULTILINE)
    assert "HEALTHCHECK" in runtime
    assert "/livez" in runtime
    for part in PARTS:
        stage = dockerfile.split(f"AS {part}\n", 1)[1].split("\nFROM ", 1)[0]
        assert f"{PACKAGES[part]}.app:create_app" in stage
        assert f"--package marfiq-{part}" in dockerfile


@pytest.mark.parametrize("part", PARTS)
def test_every_part_runs_in_compose_with_a_healthcheck(part: str) -> None:
    services = compose()["services"]
    entry = services[part]
    assert "/livez" in " ".join(entry["healthcheck"]["test"])
    assert entry["read_only"] is True
    unknown = set(entry["environment"]) - known_variables(part)
    assert unknown == set(), f"{part} is given variables nothing reads: {unknown}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_in_compose_migrates_once_before_it_starts(name: str) -> None:
    services = compose()["services"]
    migration = services[f"migrate-{name}"]
    assert migration["command"] == ["python", "/app/migrate.py"]
    assert migration["restart"] == "no"
    assert services[name]["depends_on"][f"migrate-{name}"] == {
        "condition": "service_completed_successfully"
    }
    assert migration["image"] == services[name]["image"]
    url = migration["environment"][f"{name.upper()}_DATABASE_URL"]
    assert url.startswith(f"postgresql+asyncpg://marfiq_{name}:")


def test_the_env_example_defines_every_variable_compose_reads() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", (DEPLOY / "compose.yaml").read_text()))
    example = (DEPLOY / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert used - defined <= {"MARFIQ_VERSION"}


def test_compose_and_kubernetes_apply_the_same_roles_sql() -> None:
    config_map = objects("ConfigMap")["marfiq-db-roles"]
    assert config_map["data"]["roles.sql"] == (DEPLOY / "postgres" / "roles.sql").read_text()
    assert compose()["services"]["db-roles"]["volumes"] == [
        "./postgres/roles.sql:/sql/roles.sql:ro"
    ]


# ---------------------------------------------------------------- the database roles, for real


def run_roles_sql(admin_url: str, passwords: dict[str, str]) -> None:
    url = make_url(admin_url)
    variables = [arg for name, pw in passwords.items() for arg in ("-v", f"{name}_password={pw}")]
    env = os.environ | {"PGPASSWORD": url.password or ""}
    subprocess.run(
        [
            "psql",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-d",
            url.database or "",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            *variables,
            "-f",
            str(DEPLOY / "postgres" / "roles.sql"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )


async def test_each_service_role_migrates_its_schema_and_cannot_touch_another() -> None:
    admin = postgres_admin_url()
    require_url(admin, "Postgres")
    database_url = await create_database(admin, prefix="marfiq_roles")
    passwords = {name: uuid.uuid4().hex for name in SERVICE_NAMES}
    try:
        # An earlier superuser migration (identity) must change hands; the others are new.
        await asyncio.to_thread(upgrade, service("identity").migrations, database_url)
        await asyncio.to_thread(run_roles_sql, database_url, passwords)

        def role_url(name: str) -> str:
            return (
                make_url(database_url)
                .set(username=f"marfiq_{name}", password=passwords[name])
                .render_as_string(hide_password=False)
            )

        for name in ("complaints", "identity"):
            await asyncio.to_thread(upgrade, service(name).migrations, role_url(name))
        connection = await asyncpg.connect(
            make_url(role_url("complaints")).set(drivername="postgresql").render_as_string(False)
        )
        try:
            assert await connection.fetchval("SELECT count(*) FROM complaints.outbox") == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.fetchval("SELECT count(*) FROM identity.outbox")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute("CREATE TABLE public.intruder (id int)")
        finally:
            await connection.close()
    finally:
        await drop_database(admin, database_url)
