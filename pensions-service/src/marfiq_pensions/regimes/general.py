"""The private sector's general regime (CNSS), old-age pension, as data.

Text: dahir portant loi 1-72-184 of 27 July 1972 on the social security regime, as amended.
Sources read:

- [C] cnss.ma, "Pension de vieillesse": age 60, 3,240 days, 50% of the average monthly salary
  subject to contribution, +1% per 216 further days, 70% at most, 1,000 DH minimum, reference =
  1/96 of the salaries of the 96 declared months before the last month of insurance.
- [R] cnss.ma, "Remboursement des cotisations salariales": below 3,240 days, the employee's
  contributions to the long-term branch are refunded, revalued at the reserves' net yield.
- [V] La Vie Eco, "Pension minimale : la revalorisation a coûté 270 MDH à la CNSS": minimum
  raised from 600 to 1,000 DH from July 2011.
- [S] Aujourd'hui le Maroc (via maghress) and Le Matin, 2002: from 1 April 2002 the ceiling goes
  from 5,000 to 6,000 DH a month and the long-term rate to 11.89% of the capped salary, shared
  two thirds employer, one third employee.
- [T] CGEM, "Barèmes et taux de cotisation CNSS" (and jurispromaroc.com): long-term benefits
  7.93% employer + 3.96% employee = 11.89% of salaries capped at 6,000 DH.
- [D] Decree 2.25.265 (government council, April 2025; Le360, La Quotidienne, flashinfo24,
  Barlamane): for people retired from 1 January 2023, a pension from 1,320 days, with minimums
  600 / 700 / 800 / 900 / 1,000 DH by bands of days; below 1,320 days the employee's and the
  employer's contributions are refunded.

Implemented version for pensions starting today: general-2023 (decree 2.25.265, in force with
retroactive effect from 2023-01-01). The reference stays the last 96 declared months: no newer
published rule (best years, whole career) was found.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from marfiq_pensions.regimes.model import (
    ContributionRates,
    GeneralRules,
    MinimumBand,
    PensionAge,
    Regime,
    RegimeCode,
)

CONTRIBUTIONS = (
    # [S], [T]: long-term benefits branch (invalidity, old age, survivors) only.
    ContributionRates(
        date(2002, 4, 1),
        employee=Decimal("0.0396"),
        employer=Decimal("0.0793"),
        monthly_ceiling=Decimal("6000"),
    ),
)

MINIMUM_1000 = GeneralRules(
    version="general-2011",
    effective_from=date(2011, 7, 1),  # [V]
    pension_age=(PensionAge(born_from=0, months=60 * 12),),  # [C] 60 years
    # CNSS declarations count at most 26 working days a month, so 3,240 days are about
    # 10.4 years of full-time work (La Quotidienne [D]: "soit environ 11 années").
    max_days_per_month=26,
    full_days=3240,  # [C]
    full_rate=Decimal("0.50"),  # [C]
    increment_days=216,  # [C]
    increment_rate=Decimal("0.01"),  # [C]
    max_rate=Decimal("0.70"),  # [C]
    reference_months=96,  # [C]
    minimum_pension=Decimal("1000"),  # [C], [V]
    refund_employer_share=False,  # [R]: employee's share only
)

SHORT_CAREERS_2023 = replace(
    MINIMUM_1000,
    version="general-2023",
    effective_from=date(2023, 1, 1),  # [D] retroactive to retirements from 1 January 2023
    short_career_days=1320,  # [D]
    # [D] bands: 1,320-1,704 days: 600 DH; 1,705-2,088: 700; 2,089-2,472: 800; 2,473-2,856:
    # 900; 2,857 and more: 1,000 (the general 1,000 DH minimum is kept from 3,240 days).
    short_career_minimums=(
        MinimumBand(1320, Decimal("600")),
        MinimumBand(1705, Decimal("700")),
        MinimumBand(2089, Decimal("800")),
        MinimumBand(2473, Decimal("900")),
        MinimumBand(2857, Decimal("1000")),
    ),
    refund_employer_share=True,  # [D] below 1,320 days, both shares are refunded
)

GENERAL = Regime(
    code=RegimeCode.GENERAL,
    name="Régime général de sécurité sociale (CNSS)",
    contributions=CONTRIBUTIONS,
    rules=(MINIMUM_1000, SHORT_CAREERS_2023),
)
