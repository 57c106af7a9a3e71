"""The platform's parts, in one table the launchers and the operator CLI share."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class ServiceSpec:
    """One service: where its app factory and migrations live, and its default port."""

    name: str
    package: str
    port: int

    @property
    def app_module(self) -> ModuleType:
        return importlib.import_module(f"{self.package}.app")

    @property
    def migrations(self) -> Path:
        return Path(self.app_module.MIGRATIONS)

    @property
    def factory(self) -> str:
        return f"{self.package}.app:create_app"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity", "marfiq_identity", 8001),
    ServiceSpec("correspondence", "marfiq_correspondence", 8002),
    ServiceSpec("complaints", "marfiq_complaints", 8003),
    ServiceSpec("pensions", "marfiq_pensions", 8004),
)

GATEWAY_PORT = 8000


def service(name: str) -> ServiceSpec:
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise KeyError(name)
