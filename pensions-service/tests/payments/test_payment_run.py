"""The monthly payment run: each retired affiliate paid once, to the account in force, even
with several replicas running it at the same time."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

from pensions_support import Service, problem

from marfiq_pensions.bank import rib_key
from marfiq_pensions.payments.runner import PaymentScheduler
from marfiq_pensions.regimes import CATALOGUE, Career, CareerPeriod, RegimeCode, pension

NOVEMBER = date(2025, 11, 1)
RIB_1 = "0077800000000000000001" + rib_key("0077800000000000000001")
RIB_2 = "0117800000123456789012" + rib_key("0117800000123456789012")


async def give_account(service: Service, cin: str, rib: str) -> None:
    citizen = service.citizen(cin)
    response = await service.client.put(
        "/v1/pensions/me/bank-account", json={"rib": rib}, headers=citizen.headers
    )
    assert response.status_code == 202, response.text


def scheduler(service: Service) -> PaymentScheduler:
    return PaymentScheduler(
        service.database, settings=service.settings, catalogue=CATALOGUE, clock=service.clock
    )


async def test_two_concurrent_runs_pay_each_retired_affiliate_once(service: Service) -> None:
    for cin, amount in (("AA000001", "3000.00"), ("AA000002", "5100.50"), ("AA000003", "999")):
        await service.affiliate(
            cin, status="retired", pension_start=date(2020, 1, 1), monthly_pension=Decimal(amount)
        )
    await service.affiliate(
        "AA000004",
        status="deceased",
        monthly_pension=Decimal("100"),
        pension_start=date(2010, 1, 1),
    )
    await service.affiliate("AA000005")  # still working
    await service.affiliate(
        "AA000006",
        status="retired",
        pension_start=date(2025, 12, 1),
        monthly_pension=Decimal("2000"),
    )  # starts next month
    await give_account(service, "AA000001", RIB_1)
    await give_account(service, "AA000002", RIB_2)

    results = await asyncio.gather(
        scheduler(service).run(NOVEMBER), scheduler(service).run(NOVEMBER)
    )

    assert sorted(result.ran_now for result in results) == [False, True]
    assert {result.payments for result in results} == {3}
    paid = await service.rows(
        "SELECT a.cin, p.amount, p.status, p.rib FROM pensions.payments AS p "
        "JOIN pensions.affiliates AS a ON a.id = p.affiliate_id ORDER BY a.cin"
    )
    assert [tuple(row.values()) for row in paid] == [
        ("AA000001", Decimal("3000.00"), "paid", RIB_1),
        ("AA000002", Decimal("5100.50"), "paid", RIB_2),
        ("AA000003", Decimal("999.00"), "held", None),
    ]
    recorded = await service.events("pensions.payment.recorded")
    assert sorted(event["data"]["cin"] for event in recorded) == [
        "AA000001",
        "AA000002",
        "AA000003",
    ]
    assert await service.scalar("SELECT count(*) FROM pensions.payment_runs") == 1

    december = await scheduler(service).run(date(2025, 12, 1))
    assert december.payments == 4


async def test_a_first_payment_liquidates_the_pension_from_the_career(service: Service) -> None:
    person = await service.affiliate(
        "AB123456", status="retired", birth_date=date(1962, 5, 2), pension_start=date(2025, 6, 1)
    )
    await service.history(person["id"], date(1990, 1, 1), date(2025, 5, 31), "9000")
    citizen = service.citizen("AB123456")

    await scheduler(service).run(NOVEMBER)
    payments = await service.client.get("/v1/pensions/me/payments", headers=citizen.headers)

    expected = pension(
        Career(
            RegimeCode.CIVIL, (CareerPeriod(date(1990, 1, 1), date(2025, 5, 31), Decimal(9000)),)
        ),
        catalogue=CATALOGUE,
        retirement_date=date(2025, 6, 1),
    )
    items = payments.json()["items"]
    assert [(item["month"], Decimal(item["amount"]), item["status"]) for item in items] == [
        ("2025-11", expected.amount, "held")
    ]
    summary = (await service.client.get("/v1/pensions/me", headers=citizen.headers)).json()
    assert Decimal(summary["monthly_pension"]) == expected.amount


async def test_the_run_starts_by_itself_on_the_payment_day(service: Service) -> None:
    await service.affiliate(
        "AB123456",
        status="retired",
        pension_start=date(2020, 1, 1),
        monthly_pension=Decimal("1500"),
    )
    runs = scheduler(service)

    await runs.tick()  # 10 November: before the 25th
    assert await service.scalar("SELECT count(*) FROM pensions.payments") == 0
    service.clock.advance(days=15)
    await runs.tick()
    await runs.tick()
    assert await service.scalar("SELECT count(*) FROM pensions.payments") == 1
    service.clock.now -= timedelta(days=15)


async def test_operators_run_a_month_by_hand(service: Service) -> None:
    await service.affiliate(
        "AB123456",
        status="retired",
        pension_start=date(2020, 1, 1),
        monthly_pension=Decimal("1500"),
    )
    admin = service._caller("admin", ("platform_admin",))
    url = "/v1/pensions/payment-runs"

    run = await service.client.post(url, json={"month": "2025-11"}, headers=admin.headers)
    again = await service.client.post(url, json={"month": "2025-11"}, headers=admin.headers)
    future = await service.client.post(url, json={"month": "2026-01"}, headers=admin.headers)
    citizen = await service.client.post(
        url, json={"month": "2025-11"}, headers=service.citizen("AB123456").headers
    )

    assert run.json()["ran_now"] is True
    assert run.json()["payments"] == 1
    assert again.json()["ran_now"] is False
    assert problem(future, 422)["errors"][0]["field"] == "month"
    assert problem(citizen, 403)["type"].endswith("/forbidden")
