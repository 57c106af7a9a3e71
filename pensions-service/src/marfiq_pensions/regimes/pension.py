"""Liquidation: the monthly pension a career opens, with its breakdown.

Rounding: reference salaries and each tranche's amount are rounded to the centime (half up);
rates are kept exact. Service ends with the month before the retirement date's month.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from marfiq_pensions.regimes.career import Career, Span, month_index, month_start, service_spans
from marfiq_pensions.regimes.catalogue import RegimeCatalogue
from marfiq_pensions.regimes.contributions import contribution
from marfiq_pensions.regimes.errors import InvalidCareer
from marfiq_pensions.regimes.model import (
    AnnuityTranche,
    CivilRules,
    GeneralRules,
    PensionBreakdown,
    Refund,
    Regime,
    RegimeCode,
    Tranche,
    money,
)

ZERO = Decimal(0)


def pension(
    career: Career, *, catalogue: RegimeCatalogue, retirement_date: date
) -> PensionBreakdown:
    """The pension of a career under its regime, for a pension starting on `retirement_date`."""
    if career.regime is RegimeCode.CIVIL:
        return civil_pension(career, regime=catalogue.civil, retirement_date=retirement_date)
    return general_pension(career, regime=catalogue.general, retirement_date=retirement_date)


def civil_pension(
    career: Career, *, regime: Regime[CivilRules], retirement_date: date
) -> PensionBreakdown:
    """Civil regime: years of service x annuity rate of their tranche x reference, capped."""
    rules = regime.rules_on(retirement_date)
    spans = service_spans(career, retirement_date=retirement_date, max_days_per_month=None)
    if not spans:
        raise InvalidCareer("no service before the retirement date")
    references: dict[int, tuple[Decimal, int]] = {}
    earned: list[tuple[str, AnnuityTranche, int, Decimal]] = []
    lower: int | None = None
    for tranche in rules.tranches:
        upper = month_index(tranche.until) if tranche.until else None
        months = _months_between(spans, lower, upper)
        if months:
            key = _tranche_key(tranche, lower, single=len(rules.tranches) == 1)
            earned.append((key, tranche, months, tranche.annuity_rate * months / 12))
            if tranche.reference_months not in references:
                references[tranche.reference_months] = _average_of_last(
                    spans, tranche.reference_months
                )
        lower = upper
    kept_rates = _cap([rate for *_, rate in earned], rules.max_rate)
    tranches = []
    before_cap = ZERO
    for (key, tranche, months, rate), kept in zip(earned, kept_rates, strict=True):
        reference, counted = references[tranche.reference_months]
        before_cap += money(rate * reference)
        tranches.append(
            Tranche(
                key=key,
                months=months,
                days=0,
                annuity_rate=tranche.annuity_rate,
                rate=rate,
                rate_after_cap=kept,
                reference_salary=reference,
                reference_months=counted,
                amount=money(kept * reference),
            )
        )
    service_months = sum(span.months for span in spans)
    floor = None
    if service_months >= rules.minimum_pension_service_years * 12:
        floor = rules.minimum_pension
    return _breakdown(
        RegimeCode.CIVIL,
        rules.version,
        retirement_date,
        service_months=service_months,
        days=0,
        tranches=tuple(tranches),
        max_rate=rules.max_rate,
        before_cap=before_cap,
        floor=floor,
    )


def general_pension(
    career: Career, *, regime: Regime[GeneralRules], retirement_date: date
) -> PensionBreakdown:
    """General regime: a rate set by contribution days x the capped average salary."""
    rules = regime.rules_on(retirement_date)
    spans = service_spans(
        career, retirement_date=retirement_date, max_days_per_month=rules.max_days_per_month
    )
    declared = [span for span in spans if span.days > 0]
    if not declared:
        raise InvalidCareer("no declared month before the retirement date")
    days = sum(span.days for span in declared)
    service_months = sum(span.months for span in declared)
    earned: list[tuple[str, int, Decimal]] = []
    floor, refund = None, None
    if days >= rules.full_days:
        steps = (days - rules.full_days) // rules.increment_days
        earned.append((f"first-{rules.full_days}-days", rules.full_days, rules.full_rate))
        if steps:
            earned.append(
                ("additional-days", steps * rules.increment_days, rules.increment_rate * steps)
            )
        floor = rules.minimum_pension
    elif rules.short_career_days is not None and days >= rules.short_career_days:
        # Decree 2.25.265 sets the minimums of careers between 1,320 and 3,240 days; the
        # amount itself is taken proportional to the days (50% x days / 3,240), the reading
        # of its "méthode de calcul ... conformément à l'article 55" that the sources allow.
        earned.append(("short-career", days, rules.full_rate * days / rules.full_days))
        floor = _band(rules, days)
    else:
        refund = _refund(regime, declared, employer_share=rules.refund_employer_share)
    reference, counted = ZERO, 0
    if earned:
        reference, counted = _capped_average_of_last(regime, declared, rules.reference_months)
    kept_rates = _cap([rate for *_, rate in earned], rules.max_rate)
    tranches = tuple(
        Tranche(
            key=key,
            months=0,
            days=tranche_days,
            annuity_rate=None,
            rate=rate,
            rate_after_cap=kept,
            reference_salary=reference,
            reference_months=counted,
            amount=money(kept * reference),
        )
        for (key, tranche_days, rate), kept in zip(earned, kept_rates, strict=True)
    )
    return _breakdown(
        RegimeCode.GENERAL,
        rules.version,
        retirement_date,
        service_months=service_months,
        days=days,
        tranches=tranches,
        max_rate=rules.max_rate,
        before_cap=sum((money(rate * reference) for *_, rate in earned), ZERO),
        floor=floor,
        refund=refund,
    )


def _breakdown(
    regime: RegimeCode,
    version: str,
    start: date,
    *,
    service_months: int,
    days: int,
    tranches: tuple[Tranche, ...],
    max_rate: Decimal,
    before_cap: Decimal,
    floor: Decimal | None,
    refund: Refund | None = None,
) -> PensionBreakdown:
    after_cap = sum((tranche.amount for tranche in tranches), ZERO)
    amount = max(after_cap, floor) if floor is not None else after_cap
    return PensionBreakdown(
        regime=regime,
        rules=version,
        pension_start=start,
        service_months=service_months,
        days_counted=days,
        tranches=tranches,
        max_rate=max_rate,
        amount_before_cap_and_floor=before_cap,
        amount_after_cap=after_cap,
        minimum_pension=floor,
        amount=amount,
        entitled=refund is None,
        refund=refund,
    )


def _tranche_key(tranche: AnnuityTranche, lower: int | None, *, single: bool) -> str:
    if single:
        return "service"
    if tranche.until is not None:
        return f"service-before-{tranche.until.isoformat()}"
    return f"service-from-{month_start(lower).isoformat()}" if lower is not None else "service"


def _months_between(spans: Sequence[Span], lower: int | None, upper: int | None) -> int:
    """Months of service with lower <= month < upper (None: unbounded)."""
    total = 0
    for span in spans:
        first = span.first if lower is None else max(span.first, lower)
        last = span.last if upper is None else min(span.last, upper - 1)
        if last >= first:
            total += last - first + 1
    return total


def _average_of_last(spans: Sequence[Span], months: int) -> tuple[Decimal, int]:
    """Average monthly salary of the last `months` months of service, and how many counted."""
    total, counted = ZERO, 0
    for span in reversed(spans):
        take = min(span.months, months - counted)
        total += span.salary * take
        counted += take
        if counted == months:
            break
    return money(total / counted), counted


def _pieces(regime: Regime[GeneralRules], span: Span) -> list[tuple[int, int]]:
    """A span cut into runs of months under the same contribution rates, oldest first."""
    cuts = [month_index(day) for day in regime.contribution_boundaries()]
    pieces, first = [], span.first
    for cut in [*(c for c in cuts if span.first < c <= span.last), span.last + 1]:
        pieces.append((first, cut - 1))
        first = cut
    return pieces


def _capped_average_of_last(
    regime: Regime[GeneralRules], spans: Sequence[Span], months: int
) -> tuple[Decimal, int]:
    """Average salary subject to contribution (capped) over the last `months` declared months."""
    total, counted = ZERO, 0
    for span in reversed(spans):
        for first, last in reversed(_pieces(regime, span)):
            ceiling = regime.contribution_rates(month_start(first)).monthly_ceiling
            take = min(last - first + 1, months - counted)
            salary = span.salary if ceiling is None else min(span.salary, ceiling)
            total += salary * take
            counted += take
            if counted == months:
                return money(total / counted), counted
    # Fewer declared months than the window (short careers): average over those declared.
    return money(total / counted), counted


def _cap(rates: Sequence[Decimal], max_rate: Decimal) -> list[Decimal]:
    """Trim rates to `max_rate` from the latest tranche back, so older rights are kept."""
    remaining = max_rate
    kept = []
    for rate in rates:
        share = min(rate, remaining)
        kept.append(share)
        remaining -= share
    return kept


def _band(rules: GeneralRules, days: int) -> Decimal | None:
    floor = None
    for band in rules.short_career_minimums:
        if days >= band.from_days:
            floor = band.amount
    return floor


def _refund(regime: Regime[GeneralRules], spans: Sequence[Span], *, employer_share: bool) -> Refund:
    """Contributions paid on the career, to refund when it opens no pension (not revalued)."""
    employee, employer = ZERO, ZERO
    for span in spans:
        for first, last in _pieces(regime, span):
            paid = contribution(regime, span.salary, month_start(first))
            employee += paid.employee * (last - first + 1)
            employer += paid.employer * (last - first + 1)
    return Refund(employee=employee, employer=employer if employer_share else ZERO)
