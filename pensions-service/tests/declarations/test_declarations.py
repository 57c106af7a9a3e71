"""Declarations end to end over HTTP: staged at once, processed by the worker, reported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pensions_support import PERIOD, Service, cins, problem, rows_for

from marfiq_pensions.affiliates import repository as affiliates
from marfiq_pensions.regimes import RegimeCode, contribution


async def test_a_declaration_of_5000_rows_names_exactly_its_3_bad_rows(service: Service) -> None:
    employer = service.employers[0]
    known = await service.affiliate("ZZ100001", phone="+212600000001")
    people = cins(4997)
    rows = rows_for(people)
    rows.insert(
        1000,
        {
            "cin": "ZZ100002",
            "affiliation_number": "999999999",
            "days_worked": 30,
            "gross_salary": "7000",
        },
    )  # unknown person
    rows.insert(2500, rows_for(["CD000001"], salary="-10.00")[0])  # negative salary
    rows.insert(4000, rows_for([people[10]])[0])  # duplicate of row 11
    rows.append(
        {
            "cin": "ZZ100001",
            "affiliation_number": known["affiliation_number"],
            "days_worked": 30,
            "gross_salary": "12000.50",
            "phone": "0611223344",
        }
    )
    client = service.client_of(employer)

    response = await service.declare(client, rows)

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["rows"] == 5001
    assert accepted["rejected_on_receipt"] == 2  # negative salary and duplicate: no lookup
    await service.process()
    report = (await service.client.get(response.headers["Location"], headers=client.headers)).json()
    assert report["status"] == "processed"
    assert report["in_force"] is True
    assert (report["accepted"], report["rejected"]) == (4998, 3)
    assert [(error["row"], error["code"]) for error in report["errors"]] == [
        (1001, "unknown-person"),
        (2501, "negative-salary"),
        (4001, "duplicate-line"),
    ]
    assert report["errors"][2]["detail"] == f"cin {people[10]} is already on row 11"
    lines = await service.scalar("SELECT count(*) FROM pensions.contribution_lines")
    assert lines == 4998
    assert await service.scalar("SELECT count(*) FROM pensions.affiliates") == 4998
    line = (
        await service.rows(
            "SELECT * FROM pensions.contribution_lines WHERE affiliate_id = :id", id=known["id"]
        )
    )[0]
    # Civil regime, 2025: 14% each of 12,000.50 = 1,680.07
    assert (line["employee_contribution"], line["employer_contribution"]) == (
        Decimal("1680.07"),
        Decimal("1680.07"),
    )
    contacts = await service.events("pensions.affiliate.contact_registered")
    assert [event["data"] for event in contacts] == [{"cin": "ZZ100001", "phone": "+212611223344"}]
    processed = await service.events("pensions.declaration.processed")
    assert processed[0]["data"]["accepted"] == 4998
    assert processed[0]["data"]["period"] == "2025-10-01"


async def test_new_employees_become_affiliates_with_a_number(service: Service) -> None:
    client = service.client_of(service.employers[0])
    rows = rows_for(
        ["AB000001"], phone="+212 6 12 34 56 78", last_name="Bennani", first_name="Youssef"
    )

    response = await service.declare(client, rows)
    await service.process()

    assert response.status_code == 202
    person = (await service.rows("SELECT * FROM pensions.affiliates"))[0]
    assert person["cin"] == "AB000001"
    assert len(person["affiliation_number"]) == 9
    assert (person["last_name"], person["phone"]) == ("Bennani", "+212612345678")
    contacts = await service.events("pensions.affiliate.contact_registered")
    assert contacts[0]["data"] == {"cin": "AB000001", "phone": "+212612345678"}


async def test_a_new_employee_affiliated_meanwhile_elsewhere_is_not_affiliated_twice(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = service.client_of(service.employers[0])
    people = cins(3)
    resolve = affiliates.resolve
    elsewhere: dict[str, Any] = {}

    async def then_another_declaration_affiliates_one(connection: Any, *args: Any) -> list[Any]:
        # Between the chunk's lookup and its insert, another declaration's chunk commits
        # the second person: the insert must neither fail nor create them again.
        found = await resolve(connection, *args)
        elsewhere.update(await service.affiliate(people[1]))
        return found

    monkeypatch.setattr(affiliates, "resolve", then_another_declaration_affiliates_one)
    response = await service.declare(client, rows_for(people))
    await service.process()

    report = (await service.client.get(response.headers["Location"], headers=client.headers)).json()
    assert (report["status"], report["accepted"], report["rejected"]) == ("processed", 3, 0)
    affiliated = await service.rows("SELECT id, cin FROM pensions.affiliates ORDER BY cin")
    assert [person["cin"] for person in affiliated] == people
    lines = await service.rows(
        "SELECT l.affiliate_id FROM pensions.contribution_lines AS l "
        "JOIN pensions.affiliates AS a ON a.id = l.affiliate_id WHERE a.cin = :cin",
        cin=people[1],
    )
    assert [line["affiliate_id"] for line in lines] == [elsewhere["id"]]


async def test_a_csv_declaration_with_semicolons_and_decimal_commas(service: Service) -> None:
    client = service.client_of(service.employers[0])
    content = (
        "CIN;Numero_Affiliation;Periode;Jours;Salaire_Brut;Telephone\n"
        f"AB000001;;{PERIOD};30;8500,00;0612345678\n"
        "\n"
        f"AB000002;;{PERIOD};30;abc;\n"
    )

    response = await service.declare_csv(client, content)
    await service.process()

    assert response.status_code == 202, response.text
    report = (await service.client.get(response.headers["Location"], headers=client.headers)).json()
    assert report["period"] == PERIOD
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["errors"][0] | {"message": ""} == {
        "row": 3,
        "field": "gross_salary",
        "code": "invalid-salary",
        "message": "",
        "detail": "'abc' is not an amount",
        "cin": "AB000002",
        "affiliation_number": None,
    }


async def test_a_csv_with_a_wrong_header_is_refused_whole(service: Service) -> None:
    client = service.client_of(service.employers[0])

    response = await service.declare_csv(
        client, "cin,numero,period,days_worked,salary\nAB000001,,2025-10,30,100\n"
    )

    body = problem(response, 422)
    assert body["type"].endswith("/declaration-csv-header")
    assert body["missing"] == ["affiliation_number", "gross_salary"]
    assert body["unknown"] == ["numero", "salary"]
    assert "affiliation_number" in body["detail"]
    assert await service.scalar("SELECT count(*) FROM pensions.declarations") == 0


async def test_contribution_shares_match_the_regimes_rounding_and_ceiling(
    service: Service,
) -> None:
    """The worker computes shares in SQL: they must be `regimes.contribution` to the centime,
    half up, with the general regime's ceiling, whatever the salary."""
    salaries = ["0.01", "0.07", "35.71", "1234.55", "5999.99", "6000", "6000.01", "8123.45"]
    for regime_code, prefix in (("civil", "CV"), ("general", "GN")):
        people = cins(len(salaries), prefix=prefix)
        rows = [
            rows_for([cin], salary=salary, days=26)[0]
            for cin, salary in zip(people, salaries, strict=True)
        ]
        response = await service.declare(
            service.client_of(service.employers[0]), rows, regime=regime_code
        )
        assert response.status_code == 202, response.text
        await service.process()
        regime = service.app.state.regimes.regime(RegimeCode(regime_code))
        lines = await service.rows(
            "SELECT a.cin, l.gross_salary, l.employee_contribution, l.employer_contribution "
            "FROM pensions.contribution_lines AS l JOIN pensions.affiliates AS a "
            "ON a.id = l.affiliate_id WHERE a.regime = :regime",
            regime=regime_code,
        )
        assert len(lines) == len(salaries)
        for line in lines:
            expected = contribution(regime, line["gross_salary"], date(2025, 10, 1))
            assert (line["employee_contribution"], line["employer_contribution"]) == expected
