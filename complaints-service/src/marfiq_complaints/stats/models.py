"""Monthly counters per administration, kept in the same transaction as each step.

Rows are cohorts: a complaint counts in the month (Casablanca) its holding administration
received it, and its answer, rejection or rating is added to that same row later. So
"answered" never exceeds "received" for a period, and a period's figures keep improving as
late answers arrive, the way published follow-up figures read.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, Integer, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_complaints.db import Base

# Answers given this many days or more after receipt share the last histogram bucket.
HISTOGRAM_DAYS = 366


class MonthlyStats(Base):
    __tablename__ = "stats_monthly"

    administration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # First day of the month, Casablanca calendar.
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer, server_default="0")
    answered: Mapped[int] = mapped_column(Integer, server_default="0")
    answered_on_time: Mapped[int] = mapped_column(Integer, server_default="0")
    answer_days_total: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Histogram of days from receipt to first answer: element d+1 (arrays are 1-based)
    # counts answers given d days after receipt; dense (zeros, no NULL), as long as the
    # longest delay seen. A median over any period is the sum of a few short arrays,
    # whatever the number of complaints.
    answer_days: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{0}'::integer[]")
    )
    rejected: Mapped[int] = mapped_column(Integer, server_default="0")
    redirected_out: Mapped[int] = mapped_column(Integer, server_default="0")
    ratings: Mapped[int] = mapped_column(Integer, server_default="0")
    rating_total: Mapped[int] = mapped_column(Integer, server_default="0")
