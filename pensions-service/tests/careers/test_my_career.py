"""A citizen with a proven CIN reads their career and simulates their pension; nobody else's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pensions_support import PERIOD, Service, problem

from marfiq_pensions.regimes import CATALOGUE, Career, CareerPeriod, RegimeCode
from marfiq_pensions.simulation import simulate


async def _career_with_a_declaration(service: Service) -> dict[str, object]:
    """An affiliate with recorded service 2000-2024 and October 2025 declared online."""
    employer = service.employers[0]
    person = await service.affiliate("AB123456", birth_date=date(1966, 3, 10))
    await service.history(
        person["id"], date(2000, 1, 1), date(2024, 12, 31), "10000", employer=employer
    )
    client = service.client_of(employer)
    row = {
        "cin": "AB123456",
        "affiliation_number": person["affiliation_number"],
        "days_worked": 30,
        "gross_salary": "10500.00",
        "grade": "Administrateur 2e grade",
    }
    assert (await service.declare(client, [row])).status_code == 202
    await service.process()
    return person


async def test_a_citizen_with_a_proven_cin_sees_their_career(service: Service) -> None:
    person = await _career_with_a_declaration(service)
    citizen = service.citizen("AB123456")

    summary = await service.client.get("/v1/pensions/me", headers=citizen.headers)
    career = await service.client.get("/v1/pensions/me/career", headers=citizen.headers)
    lines = await service.client.get("/v1/pensions/me/contributions", headers=citizen.headers)

    assert summary.status_code == 200, summary.text
    assert summary.json()["affiliation_number"] == person["affiliation_number"]
    assert summary.json()["status"] == "active"
    body = career.json()
    assert [(p["start"], p["end"], p["source"], p["monthly_salary"]) for p in body["periods"]] == [
        ("2000-01-01", "2024-12-31", "records", "10000.00"),
        ("2025-10-01", "2025-10-31", "declarations", "10500.00"),
    ]
    assert body["periods"][1]["grade"] == "Administrateur 2e grade"
    assert body["periods"][1]["employer_name"] == "Administration MEN"
    assert body["months"] == 301
    # Civil regime in 2025: 14% of 10,500.00 each.
    assert (body["employee_contributions"], body["employer_contributions"]) == (
        "1470.00",
        "1470.00",
    )
    assert [item["period"] for item in lines.json()["items"]] == [PERIOD]


async def test_a_simulation_runs_on_the_citizens_own_career(service: Service) -> None:
    await _career_with_a_declaration(service)
    citizen = service.citizen("AB123456")

    response = await service.client.post(
        "/v1/pensions/me/simulations",
        json={"retirement_date": "2029-07-01", "salary_growth": "0.02"},
        headers=citizen.headers,
    )

    assert response.status_code == 200, response.text
    expected = simulate(
        Career(
            RegimeCode.CIVIL,
            (
                CareerPeriod(date(2000, 1, 1), date(2024, 12, 31), Decimal(10000)),
                CareerPeriod(date(2025, 10, 1), date(2025, 10, 31), Decimal(10500)),
            ),
        ),
        birth_date=date(1966, 3, 10),
        retirement_date=date(2029, 7, 1),
        salary_growth=Decimal("0.02"),
        regime_catalogue=CATALOGUE,
        today=date(2025, 11, 10),
    )
    estimate = response.json()
    assert Decimal(estimate["monthly_pension"]) == expected.monthly_pension
    assert estimate["breakdown"]["rules"] == expected.breakdown.rules
    assert [t["key"] for t in estimate["breakdown"]["tranches"]] == [
        "service-before-2017-01-01",
        "service-from-2017-01-01",
    ]
    assert estimate["projected_months"] == expected.projected_months


async def test_without_a_proven_cin_the_file_asks_for_a_step_up(service: Service) -> None:
    await service.affiliate("AB123456")
    unproven = service.citizen(None, acr="low")

    for method, path in (
        ("GET", "/v1/pensions/me"),
        ("GET", "/v1/pensions/me/career"),
        ("GET", "/v1/pensions/me/contributions"),
        ("POST", "/v1/pensions/me/simulations"),
    ):
        response = await service.client.request(
            method, path, headers=unproven.headers, json={"retirement_date": "2030-01-01"}
        )
        body = problem(response, 403)
        assert body["type"].endswith("/step-up-required")
        assert body["required_acr"] == "substantial"
        assert "eID" in body["detail"]


async def test_nobody_reaches_another_persons_file(service: Service) -> None:
    await service.affiliate("AB123456", names=("Alaoui", "Samira"))
    await service.affiliate("CD654321", names=("Tazi", "Omar"))
    samira, omar = service.citizen("AB123456"), service.citizen("CD654321")

    for_samira = await service.client.get("/v1/pensions/me", headers=samira.headers)
    for_omar = await service.client.get("/v1/pensions/me", headers=omar.headers)
    stranger = await service.client.get(
        "/v1/pensions/me", headers=service.citizen("EE111111").headers
    )
    agent = await service.client.get(
        "/v1/pensions/me", headers=service.agent_of(service.employers[0]).headers
    )
    employer = await service.client.get(
        "/v1/pensions/me/career", headers=service.client_of(service.employers[0]).headers
    )

    assert for_samira.json()["last_name"] == "Alaoui"
    assert for_omar.json()["last_name"] == "Tazi"
    assert problem(stranger, 404)["type"].endswith("/affiliate-not-found")
    assert problem(agent, 403)["type"].endswith("/forbidden")
    assert problem(employer, 403)["type"].endswith("/forbidden")


async def test_simulations_refused_with_a_usable_problem(service: Service) -> None:
    await _career_with_a_declaration(service)
    await service.affiliate("EF000001", birth_date=None)
    citizen, no_birth_date = service.citizen("AB123456"), service.citizen("EF000001")
    url = "/v1/pensions/me/simulations"

    past = await service.client.post(
        url, json={"retirement_date": "2020-01-01"}, headers=citizen.headers
    )
    early = await service.client.post(
        url, json={"retirement_date": "2026-01-01"}, headers=citizen.headers
    )
    growth = await service.client.post(
        url, json={"retirement_date": "2030-01-01", "salary_growth": "0.5"}, headers=citizen.headers
    )
    unknown = await service.client.post(
        url, json={"retirement_date": "2030-01-01"}, headers=no_birth_date.headers
    )

    assert problem(past, 422)["type"].endswith("/retirement-date-in-past")
    assert problem(early, 422)["earliest_retirement_date"] == "2029-03-10"
    assert problem(growth, 422)["errors"][0]["field"] == "salary_growth"
    assert problem(unknown, 409)["type"].endswith("/affiliate-birth-date-unknown")
