"""Retirements recorded by the fund's operators, then liquidated and paid by the run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pensions_support import Service, problem

URL = "/v1/pensions/retirements"


async def test_a_recorded_retirement_is_liquidated_and_paid_by_the_next_run(
    service: Service,
) -> None:
    person = await service.affiliate("AB123456", regime="civil")
    # 1 January 2000 - 31 October 2025: 310 months before the reform's tranche split.
    await service.history(person["id"], date(2000, 1, 1), date(2025, 10, 31), "10000")
    admin = service._caller("admin", ("platform_admin",))

    recorded = await service.client.post(
        URL, json={"cin": "ab123456", "pension_start": "2025-11-01"}, headers=admin.headers
    )

    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["status"] == "retired"
    assert recorded.json()["pension_start"] == "2025-11-01"
    assert recorded.json()["monthly_pension"] is None
    run = await service.client.post(
        "/v1/pensions/payment-runs", json={"month": "2025-11"}, headers=admin.headers
    )
    assert run.json()["payments"] == 1
    paid = await service.rows("SELECT amount, status FROM pensions.payments")
    assert paid[0]["status"] == "held"  # no account yet: held until one is given
    assert paid[0]["amount"] > Decimal(0)


async def test_only_operators_record_retirements_of_active_affiliates(service: Service) -> None:
    await service.affiliate("AB123456")
    await service.affiliate("CD654321", status="deceased")
    admin = service._caller("admin", ("platform_admin",))

    def body(cin: str, start: str = "2025-11-01") -> dict[str, str]:
        return {"cin": cin, "pension_start": start}

    citizen = await service.client.post(
        URL, json=body("AB123456"), headers=service.citizen("AB123456").headers
    )
    mid_month = await service.client.post(
        URL, json=body("AB123456", "2025-11-15"), headers=admin.headers
    )
    unknown = await service.client.post(URL, json=body("ZZ999999"), headers=admin.headers)
    deceased = await service.client.post(URL, json=body("CD654321"), headers=admin.headers)

    assert problem(citizen, 403)["type"].endswith("/forbidden")
    assert problem(mid_month, 422)["errors"][0]["field"] == "pension_start"
    assert problem(unknown, 404)["type"].endswith("/affiliate-not-found")
    assert problem(deceased, 409)["type"].endswith("/affiliate-not-active")
    status = await service.scalar("SELECT status FROM pensions.affiliates WHERE cin = 'AB123456'")
    assert status == "active"
