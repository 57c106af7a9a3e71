"""Who may declare and read declarations, and input refused whole with a usable problem."""

from __future__ import annotations

import uuid

from pensions_support import Service, problem, rows_for


async def test_an_employer_client_cannot_declare_for_another_employer(service: Service) -> None:
    ours, theirs = service.employers
    client = service.client_of(ours)

    response = await service.declare(client, rows_for(["AB000001"]), employer_id=str(theirs.id))
    csv = await service.declare_csv(
        client,
        "cin,affiliation_number,period,days_worked,gross_salary\nAB000001,,2025-10,30,100\n",
        employer_id=str(theirs.id),
    )

    assert problem(response, 403)["type"].endswith("/declaration-wrong-employer")
    assert problem(csv, 403)["type"].endswith("/declaration-wrong-employer")
    assert await service.scalar("SELECT count(*) FROM pensions.declarations") == 0


async def test_lines_naming_another_employer_are_refused(service: Service) -> None:
    ours, theirs = service.employers
    client = service.client_of(ours)
    rows = rows_for(["AB000001"], employer=ours.code) + rows_for(["AB000002"], employer=theirs.code)

    response = await service.declare(client, rows)
    await service.process()

    report = (await service.client.get(response.headers["Location"], headers=client.headers)).json()
    assert [(error["row"], error["code"]) for error in report["errors"]] == [(2, "wrong-employer")]


async def test_only_employers_with_the_scope_declare_and_read_their_own(
    service: Service,
) -> None:
    ours, theirs = service.employers
    response = await service.declare(service.client_of(ours), rows_for(["AB000001"]))
    location = response.headers["Location"]

    other_employer = await service.client.get(location, headers=service.client_of(theirs).headers)
    no_scope = await service.declare(service.client_of(ours, scope="complaints:read"), [])
    citizen = await service.declare(service.citizen("AB000001"), rows_for(["AB000001"]))
    agent = await service.client.get(location, headers=service.agent_of(ours).headers)
    stranger = await service.employer("GONE", active=False)
    inactive = await service.declare(service.client_of(stranger), rows_for(["AB000001"]))
    unknown = await service.client.get(
        f"/v1/pensions/declarations/{uuid.uuid4()}", headers=service.client_of(ours).headers
    )

    assert problem(other_employer, 404)["type"].endswith("/declaration-not-found")
    assert problem(no_scope, 403)["scope"] == "pensions:declare"
    assert problem(citizen, 403)["type"].endswith("/declaration-not-an-employer")
    assert agent.status_code == 200
    assert problem(inactive, 403)["type"].endswith("/declaration-not-an-employer")
    assert problem(unknown, 404)["type"].endswith("/declaration-not-found")


async def test_a_period_in_the_future_is_refused_whole_and_on_a_line(service: Service) -> None:
    client = service.client_of(service.employers[0])

    whole = await service.declare(client, rows_for(["AB000001"]), period="2025-12")
    line = await service.declare(client, rows_for(["AB000001"], period="2025-12"))
    await service.process()

    body = problem(whole, 422)
    assert body["type"].endswith("/declaration-period-in-future")
    assert body["latest"] == "2025-11"
    assert "2025-12 has not begun" in body["detail"]
    report = (await service.client.get(line.headers["Location"], headers=client.headers)).json()
    assert report["errors"][0]["code"] == "period-in-future"


async def test_bad_bodies_are_refused_with_a_problem_and_nothing_written(
    service: Service,
) -> None:
    client = service.client_of(service.employers[0])
    url = "/v1/pensions/declarations"
    huge = b"cin,affiliation_number,period,days_worked,gross_salary\n" + b"x" * 100_000_000

    too_large = await service.client.post(
        url, content=huge, headers=client.headers | {"Content-Type": "text/csv"}
    )
    not_json = await service.client.post(
        url, content=b"{rows:", headers=client.headers | {"Content-Type": "application/json"}
    )
    xml = await service.client.post(
        url, content=b"<rows/>", headers=client.headers | {"Content-Type": "application/xml"}
    )
    empty = await service.declare(client, [])
    old = await service.declare(client, rows_for(["AB000001"]), period="2001-01")
    latin1 = await service.declare_csv(
        client,
        b"cin,affiliation_number,period,days_worked,gross_salary,nom\n"
        + "AB000001,,2025-10,30,100,Zoé\n".encode("latin-1"),
    )

    assert problem(too_large, 413)["max_bytes"] == service.settings.max_body_bytes
    assert problem(not_json, 400)["type"].endswith("/declaration-unreadable")
    assert problem(xml, 415)["type"].endswith("/declaration-unsupported-format")
    assert problem(empty, 422)["type"].endswith("/declaration-empty")
    assert problem(old, 422)["type"].endswith("/declaration-period-out-of-range")
    assert "UTF-8" in problem(latin1, 400)["detail"]
    assert await service.scalar("SELECT count(*) FROM pensions.declarations") == 0
    assert await service.scalar("SELECT count(*) FROM pensions.declaration_rows") == 0


async def test_an_idempotent_retry_returns_the_first_answer(service: Service) -> None:
    client = service.client_of(service.employers[0])
    headers = client.headers | {"Idempotency-Key": "declaration-2025-10-a"}
    body = {"period": "2025-10", "rows": rows_for(["AB000001"])}

    first = await service.client.post("/v1/pensions/declarations", json=body, headers=headers)
    again = await service.client.post("/v1/pensions/declarations", json=body, headers=headers)

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await service.scalar("SELECT count(*) FROM pensions.declarations") == 1
