"""The public statistics."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from marfiq_shared.pagination import Page


class AdministrationStats(BaseModel):
    administration_id: uuid.UUID
    code: str
    name_ar: str
    name_fr: str
    received: int = Field(description="Received in the period (filed, or redirected to it)")
    answered: int = Field(description="Of those, answered (first answer)")
    answered_pct: float | None = Field(description="answered / received, in %")
    answered_on_time: int = Field(description="Answered by the due date then in force")
    answered_on_time_pct: float | None = Field(description="answered_on_time / answered, in %")
    median_days_to_answer: float | None = Field(
        description="Calendar days from receipt to first answer (a value of 366 reads "
        "'366 or more')"
    )
    mean_days_to_answer: float | None
    rejected: int = Field(description="Found inadmissible")
    redirected_out: int = Field(description="Sent on to the competent administration")
    open_overdue: int = Field(description="Open now and past a due date (not per period)")
    ratings: int
    average_rating: float | None = Field(description="Citizens' ratings of answers, 1 to 5")


class StatsPage(Page[AdministrationStats]):
    from_month: str = Field(description="First month of the period, YYYY-MM (Casablanca)")
    to_month: str = Field(description="Last month of the period, YYYY-MM, included")
    generated_at: datetime
