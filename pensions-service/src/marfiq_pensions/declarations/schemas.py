"""Shapes of declarations on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from marfiq_pensions.declarations.models import DeclarationStatus
from marfiq_pensions.regimes import RegimeCode


class DeclarationRowIn(BaseModel):
    """One line of a declaration (JSON); a CSV has the same columns in its header.

    Each line is checked on its own: a bad line is reported, the others are processed.
    """

    cin: str = Field(description="National identity card number, e.g. AB123456")
    affiliation_number: str | None = Field(
        default=None, description="The fund's number; empty for a new employee (one is given)"
    )
    period: str | None = Field(
        default=None, description="YYYY-MM; the declaration's month when absent"
    )
    days_worked: int = Field(description="Days worked in the month (at most 26 or 30)")
    gross_salary: str | float = Field(description="Gross monthly salary in dirhams")
    phone: str | None = Field(default=None, description="The employee's mobile phone")
    last_name: str | None = None
    first_name: str | None = None
    birth_date: str | None = Field(default=None, description="YYYY-MM-DD (new employees)")
    grade: str | None = None
    employer: str | None = Field(
        default=None, description="The declaring administration's code, when the file has it"
    )


class DeclarationCreate(BaseModel):
    """A monthly declaration sent as JSON (`text/csv` takes `period` as a query parameter)."""

    period: str = Field(description="The month declared, YYYY-MM", examples=["2025-10"])
    regime: RegimeCode = RegimeCode.CIVIL
    employer_id: uuid.UUID | None = Field(
        default=None, description="The declaring administration; the caller's when absent"
    )
    rows: list[DeclarationRowIn]


class DeclarationAccepted(BaseModel):
    """The declaration is staged; its processing goes on after this answer."""

    id: uuid.UUID
    status: DeclarationStatus
    period: str
    regime: RegimeCode
    rows: int
    rejected_on_receipt: int = Field(description="Lines already refused by their format")
    superseded: list[uuid.UUID] = Field(
        default_factory=list, description="Earlier unprocessed declarations of this month"
    )


class RowErrorRead(BaseModel):
    row: int = Field(description="1 = the first line after the header (or of `rows`)")
    field: str | None
    code: str
    message: str
    detail: str | None
    cin: str | None
    affiliation_number: str | None


class DeclarationRead(BaseModel):
    id: uuid.UUID
    employer_id: uuid.UUID
    period: str
    regime: RegimeCode
    status: DeclarationStatus
    in_force: bool = Field(description="Its lines are the month's contributions")
    format: str
    submitted_at: datetime
    processed_at: datetime | None
    rows: int
    rows_processed: int
    accepted: int | None = Field(description="Known once processed")
    rejected: int | None = Field(description="Known once processed")
    replaced_declaration_id: uuid.UUID | None
    errors: list[RowErrorRead] = Field(description="Refused lines found so far, in order")
    errors_next_cursor: str | None = Field(description="More refused lines: GET …/errors?cursor=…")


class RowErrorPage(BaseModel):
    items: list[RowErrorRead]
    next_cursor: str | None = None


class DeclarationSummary(BaseModel):
    id: uuid.UUID
    period: str
    regime: RegimeCode
    status: DeclarationStatus
    in_force: bool
    submitted_at: datetime
    rows: int
    accepted: int | None
    rejected: int | None


class DeclarationPage(BaseModel):
    items: list[DeclarationSummary]
    next_cursor: str | None = None


def openapi_body() -> dict[str, Any]:
    """The request body of POST /declarations in the OpenAPI document: JSON or CSV."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inlined(DeclarationCreate.model_json_schema())},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "cin,affiliation_number,period,days_worked,gross_salary,phone\n"
                    "AB123456,100000001,2025-10,26,8500.00,0612345678\n",
                },
            },
        }
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its `$defs` references replaced by the definitions themselves."""
    definitions = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return walk(definitions[reference.removeprefix("#/$defs/")])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined
