"""Changing the account a pension is paid into: strong sign-in, loud notice, audit trail,
cancellable until the next payment run, which applies it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pensions_support import Service, problem

from marfiq_pensions.bank import rib_key, rib_to_iban

URL = "/v1/pensions/me/bank-account"


def a_rib(account: str) -> str:
    """A valid RIB of Attijariwafa (007), Casablanca (780), with its control key."""
    body = "007780" + account.rjust(16, "0")
    return body + rib_key(body)


async def retired(service: Service, cin: str = "AB123456") -> dict[str, object]:
    return await service.affiliate(
        cin,
        status="retired",
        pension_start=date(2024, 1, 1),
        monthly_pension=Decimal("4200.00"),
    )


async def run_payments(service: Service, month: date) -> dict[str, object]:
    result = await service.app.state.payment_scheduler.run(month)
    return dict(result.model_dump())


async def test_a_rib_change_needs_a_substantial_sign_in_and_is_announced(
    service: Service,
) -> None:
    await retired(service)
    low = service.citizen("AB123456", acr="low")
    strong = service.citizen("AB123456", acr="substantial")
    rib = a_rib("1234567890")

    refused = await service.client.put(URL, json={"rib": rib}, headers=low.headers)
    accepted = await service.client.put(URL, json={"rib": rib}, headers=strong.headers)

    body = problem(refused, 403)
    assert body["type"].endswith("/step-up-required")
    assert body["required_acr"] == "substantial"
    assert accepted.status_code == 202, accepted.text
    change = accepted.json()
    assert change["status"] == "pending"
    assert change["effective_month"] == "2025-11"
    assert change["account"] == {
        "bank_code": "007",
        "last4": rib[-4:],
        "masked": f"007 780 •••• •••• •••• {rib[-4:]}",
    }
    requested = await service.events("pensions.bank_account.change_requested")
    assert len(requested) == 1
    assert requested[0]["data"]["session_id"] == strong.sid
    assert requested[0]["data"]["acr"] == "substantial"
    assert rib not in str(requested[0])  # only the bank and the last four digits travel
    notices = await service.events("identity.notification.requested")
    assert [(n["data"]["recipient_cin"], n["data"]["kind"]) for n in notices] == [
        ("AB123456", "pensions.bank_account_changed")
    ]
    assert notices[0]["data"].get("channels") is None  # every channel the person has
    audit = await service.rows("SELECT * FROM pensions.bank_account_audit")
    assert [(row["action"], row["session_id"], row["acr"]) for row in audit] == [
        ("requested", strong.sid, "substantial")
    ]


async def test_bad_accounts_are_refused_with_a_usable_problem(service: Service) -> None:
    await retired(service)
    citizen = service.citizen("AB123456")
    good = a_rib("42")
    wrong_key = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"

    responses = {
        "wrong key": await service.client.put(
            URL, json={"rib": wrong_key}, headers=citizen.headers
        ),
        "short": await service.client.put(URL, json={"rib": "1234"}, headers=citizen.headers),
        "french": await service.client.put(
            URL, json={"iban": "FR7630006000011234567890189"}, headers=citizen.headers
        ),
        "both": await service.client.put(
            URL, json={"rib": good, "iban": rib_to_iban(good)}, headers=citizen.headers
        ),
    }

    assert problem(responses["wrong key"], 422)["type"].endswith("/invalid-rib")
    assert "control key" in problem(responses["wrong key"], 422)["detail"]
    assert problem(responses["short"], 422)["type"].endswith("/invalid-rib")
    french = problem(responses["french"], 422)
    assert french["type"].endswith("/foreign-iban")
    assert french["country"] == "FR"
    assert problem(responses["both"], 422)["type"].endswith("/validation-error")
    assert await service.scalar("SELECT count(*) FROM pensions.bank_account_changes") == 0
    assert await service.scalar("SELECT count(*) FROM pensions.outbox") == 0


async def test_a_pending_change_is_cancellable_until_the_run(service: Service) -> None:
    await retired(service)
    await retired(service, "CD654321")
    citizen = service.citizen("AB123456")
    change = (
        await service.client.put(
            URL, json={"iban": rib_to_iban(a_rib("7"))}, headers=citizen.headers
        )
    ).json()
    url = f"{URL}/changes/{change['id']}/cancel"

    other = await service.client.post(url, headers=service.citizen("CD654321").headers)
    cancelled = await service.client.post(url, headers=citizen.headers)
    again = await service.client.post(url, headers=citizen.headers)
    paid = await run_payments(service, date(2025, 11, 1))

    assert problem(other, 404)["type"].endswith("/bank-account-change-not-found")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert problem(again, 409)["type"].endswith("/bank-account-change-not-pending")
    assert [
        event["data"]["change_id"]
        for event in await service.events("pensions.bank_account.cancelled")
    ] == [change["id"]]
    kinds = [n["data"]["kind"] for n in await service.events("identity.notification.requested")]
    assert kinds == ["pensions.bank_account_changed", "pensions.bank_account_change_cancelled"]
    assert paid["accounts_changed"] == 0
    payments = await service.rows("SELECT status, rib FROM pensions.payments")
    assert {(row["status"], row["rib"]) for row in payments} == {("held", None)}
    account = (await service.client.get(URL, headers=citizen.headers)).json()
    assert account["in_force"] is None
    assert account["pending"] is None
    assert [item["status"] for item in account["history"]] == ["cancelled"]


async def test_the_change_takes_effect_at_the_next_payment_run(service: Service) -> None:
    await retired(service)
    citizen = service.citizen("AB123456")
    first, second = a_rib("1"), a_rib("2")
    await service.client.put(URL, json={"rib": a_rib("9")}, headers=citizen.headers)
    await service.client.put(URL, json={"rib": first}, headers=citizen.headers)  # replaces it

    before = (await service.client.get(URL, headers=citizen.headers)).json()
    november = await run_payments(service, date(2025, 11, 1))
    later = await service.client.put(URL, json={"rib": second}, headers=citizen.headers)
    same = await service.client.put(URL, json={"rib": first}, headers=citizen.headers)

    assert before["in_force"] is None
    assert before["pending"]["account"]["last4"] == first[-4:]
    assert [item["status"] for item in before["history"]] == ["superseded"]
    assert november["accounts_changed"] == 1
    paid = await service.rows("SELECT month, rib, amount, status FROM pensions.payments")
    assert [dict(row) for row in paid] == [
        {"month": date(2025, 11, 1), "rib": first, "amount": Decimal("4200.00"), "status": "paid"}
    ]
    assert later.json()["effective_month"] == "2025-12"  # November has been paid
    assert problem(same, 409)["type"].endswith("/bank-account-unchanged")
    changed = await service.events("pensions.bank_account.changed")
    assert [event["data"]["account_last4"] for event in changed] == [first[-4:]]
    actions = [
        row["action"]
        for row in await service.rows("SELECT action FROM pensions.bank_account_audit ORDER BY id")
    ]
    assert actions == ["requested", "superseded", "requested", "in_force", "requested"]
