"""The pension file's journey, distributed mode, through the gateway, with real sign-ins.

An employer's partner client uploads a declaration of 5,000 rows with 3 bad rows and the
report names exactly those 3. An employee in it signs in with the eID chip, and separately
with an SMS code to the phone the declaration gave the fund (the fund vouches for it, so
the code proves the CIN); sees the career, runs a simulation, downloads a signed affiliation
certificate (the signature verifies against the platform's PKI, the registry says valid);
adds an e-mail address; changes the bank account (refused to a session at `low` on the
same account, accepted at `substantial`) and is told by SMS and by e-mail; the fund
records the retirement and the payment run pays the new account.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from delivery_standins import wait_for_code
from harness import Platform, mint_tokens
from test_signin_e2e import bearer

from marfiq_identity.eid.testing import td1_mrz
from marfiq_shared.documents import PlatformPki, verify_pdf

CIN = "EJ246810"
PHONE = "+212661357913"
EMAIL = "ej246810@example.ma"
ROWS = 5_000


def months_back(day: date, count: int) -> date:
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def rib_with_key(first_22: str) -> str:
    return first_22 + f"{97 - int(first_22) * 100 % 97:02d}"


def declaration() -> tuple[list[dict[str, Any]], list[int]]:
    """5,000 rows, the citizen's among them, and the (1-based) rows that must be refused."""
    rows: list[dict[str, Any]] = [
        {
            "cin": f"EK{n:06d}",
            "days_worked": 30,
            "gross_salary": "8000.00",
            "birth_date": "1980-01-01",
        }
        for n in range(1, ROWS - 3)
    ]
    rows.insert(
        10,
        {
            "cin": CIN,
            "days_worked": 30,
            "gross_salary": "12000.00",
            "birth_date": "1985-06-15",
            "last_name": "Bennani",
            "first_name": "Salma",
            "phone": "06 61 35 79 13",
        },
    )
    unknown = {"cin": "EL000001", "affiliation_number": "999999999", "days_worked": 30}
    rows.insert(1200, unknown | {"gross_salary": "7000"})
    rows.insert(2600, {"cin": "EL000002", "days_worked": 30, "gross_salary": "-10.00"})
    rows.insert(4100, dict(rows[20]))  # the same person twice
    assert len(rows) == ROWS
    return rows, [1201, 2601, 4101]


async def until(check: Any, *, within_s: float, what: str) -> Any:
    """The first truthy answer of `check()` (a function or a coroutine function), polled."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {within_s}s")


async def contact_vouched(database_url: str, phone: str) -> str | None:
    """The CIN identity's registry of authoritative contacts holds for `phone`."""
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        found: str | None = await connection.fetchval(
            "SELECT cin FROM identity.authoritative_contacts WHERE contact = $1", phone
        )
        return found
    finally:
        await connection.close()


async def eid_sign_in(client: httpx.AsyncClient, platform: Platform, cin: str) -> dict:
    chip = platform.csca.document_signer().issue(aa_key_type="ec-p256", mrz=td1_mrz(cin=cin))
    challenge = (await client.post("/v1/auth/eid/challenge", json={})).json()
    nonce = base64.b64decode(challenge["nonce"])

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    verified = await client.post(
        "/v1/auth/eid/verify",
        json={
            "challenge_id": challenge["challenge_id"],
            "sod": b64(chip.sod),
            "dg1": b64(chip.dg1),
            "dg15": b64(chip.dg15),
            "signature": b64(chip.sign(nonce)),
        },
    )
    assert verified.status_code == 200, verified.text
    return verified.json()


async def employer_client(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """A payroll system of the Ministry of Education, signed in with client credentials."""
    found = (await client.get("/v1/administrations", params={"q": "MENPS"})).json()["items"]
    (ministry,) = [item for item in found if item["code"] == "MENPS"]
    created = await client.post(
        f"/v1/administrations/{ministry['id']}/clients",
        json={"name": "Paie du ministère", "scopes": ["pensions:declare"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    token = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(created.json()["client_id"], created.json()["client_secret"]),
    )
    assert token.status_code == 200, token.text
    return bearer(token.json())


async def declare(
    client: httpx.AsyncClient, payroll: dict[str, str], period: str
) -> tuple[dict, list[int]]:
    """Upload the declaration and wait for its report."""
    rows, bad = declaration()

    async def submitted() -> httpx.Response | None:
        response = await client.post(
            "/v1/pensions/declarations", json={"period": period, "rows": rows}, headers=payroll
        )
        # The ministry reaches the fund's replica of the directory by an event: wait for it.
        if response.status_code == 403 and "employer" in response.text:
            return None
        return response

    response = await until(submitted, within_s=10, what="the employer known to the fund")
    assert response.status_code == 202, response.text
    assert response.json()["rows"] == ROWS

    async def processed() -> dict | None:
        report = (await client.get(response.headers["location"], headers=payroll)).json()
        return report if report["status"] == "processed" else None

    return await until(processed, within_s=30, what="the declaration processed"), bad


async def test_declaration_to_payment_through_the_gateway(distributed: Platform) -> None:
    admin = {"authorization": f"Bearer {await distributed.admin_token()}"}
    today = datetime.now(UTC).astimezone(ZoneInfo("Africa/Casablanca")).date()
    this_month, last_month = months_back(today, 0), months_back(today, 1)
    async with httpx.AsyncClient(base_url=distributed.gateway, timeout=30) as client:
        payroll = await employer_client(client, admin)
        report, bad = await declare(client, payroll, f"{last_month:%Y-%m}")
        assert (report["accepted"], report["rejected"]) == (ROWS - 3, 3)
        assert [error["row"] for error in report["errors"]] == bad
        assert [error["code"] for error in report["errors"]] == [
            "unknown-person",
            "negative-salary",
            "duplicate-line",
        ]

        # The eID chip proves the CIN on its own.
        by_eid = await eid_sign_in(client, distributed, CIN)
        assert by_eid["acr"] == "high"
        mine = await client.get("/v1/pensions/me", headers=bearer(by_eid))
        assert mine.status_code == 200, mine.text
        assert mine.json()["phone"] == PHONE

        # A code to the phone the fund holds proves it too, once identity has its word.
        vouched = await until(
            lambda: contact_vouched(distributed.database_url, PHONE),
            within_s=10,
            what="the fund's phone registered with identity",
        )
        assert vouched == CIN
        asked = await client.post("/v1/auth/otp", json={"channel": "sms", "destination": PHONE})
        assert asked.status_code == 202, asked.text
        code = await asyncio.to_thread(wait_for_code, lambda: distributed.sms.texts_to(PHONE))
        verified = await client.post(
            "/v1/auth/otp/verify", json={"challenge_id": asked.json()["challenge_id"], "code": code}
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["acr"] == "substantial"
        citizen = bearer(verified.json())
        assert (await client.get("/v1/me", headers=citizen)).json()["cin"] == CIN

        career = (await client.get("/v1/pensions/me/career", headers=citizen)).json()
        assert career["months"] == 1
        assert career["periods"][0]["start"] == last_month.isoformat()
        assert career["periods"][0]["monthly_salary"] == "12000.00"

        simulated = await client.post(
            "/v1/pensions/me/simulations",
            json={"retirement_date": "2048-07-01", "salary_growth": "0.02"},
            headers=citizen,
        )
        assert simulated.status_code == 200, simulated.text
        assert float(simulated.json()["monthly_pension"]) > 0
        assert simulated.json()["breakdown"]["regime"] == "civil"

        issued = await client.post(
            "/v1/pensions/me/certificates", json={"type": "affiliation"}, headers=citizen
        )
        assert issued.status_code == 201, issued.text
        pdf = (await client.get(issued.json()["url"], headers=citizen)).content
        # The services sign with the authority in their working folder (PENSIONS_PKI_DIR).
        pki = PlatformPki(Path(distributed.env.get("PENSIONS_PKI_DIR", "var/pki")))
        check = verify_pdf(pdf, pki.trust_roots())
        assert (check.valid, check.trusted, check.covers_whole_file) == (True, True, True)
        code = issued.json()["code"]

        async def registered() -> dict | None:
            answer = await client.get(f"/v1/documents/{code}")
            return answer.json() if answer.status_code == 200 else None

        public = await until(registered, within_s=10, what="the certificate in the registry")
        assert public["status"] == "valid"
        copy = await client.post(
            f"/v1/documents/{code}/verification",
            files={"file": ("attestation.pdf", pdf, "application/pdf")},
        )
        assert copy.json()["verdict"] == "valid", copy.text

        # An e-mail on the account proves only that address: `low`, though the token still
        # names the CIN the account proved.
        added = await client.patch("/v1/me", json={"email": EMAIL}, headers=citizen)
        assert added.status_code == 200, added.text
        code = await asyncio.to_thread(wait_for_code, lambda: distributed.mail.texts_to(EMAIL))
        confirmed = await client.post(
            "/v1/me/contact/verify",
            json={"challenge_id": added.json()["pending_contact"]["challenge_id"], "code": code},
            headers=citizen,
        )
        assert confirmed.status_code == 200, confirmed.text
        # A second code to that address within identity's resend cooldown (60 s) would be
        # refused, so the e-mail session is opened the way the harness opens sign-ins: by
        # identity's own code, on this account, at `low`, signed with the platform's key.
        by_mail = await mint_tokens(distributed.database_url, distributed.env, email=EMAIL)
        assert by_mail["acr"] == "low"
        new_rib = rib_with_key("0117800000123456789012")
        refused = await client.put(
            "/v1/pensions/me/bank-account", json={"rib": new_rib}, headers=bearer(by_mail)
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith("/step-up-required")

        sms_before = len(distributed.sms.texts_to(PHONE))
        mail_before = len(distributed.mail.texts_to(EMAIL))
        changed = await client.put(
            "/v1/pensions/me/bank-account", json={"rib": new_rib}, headers=citizen
        )
        assert changed.status_code == 202, changed.text
        assert changed.json()["effective_month"] == f"{this_month:%Y-%m}"

        def told(texts: list[str]) -> bool:
            return any(("bancaire" in t or "bank" in t or "البنكي" in t) for t in texts)

        await until(
            lambda: told(distributed.sms.texts_to(PHONE)[sms_before:]),
            within_s=10,
            what="the SMS about the bank account",
        )
        await until(
            lambda: told(distributed.mail.texts_to(EMAIL)[mail_before:]),
            within_s=10,
            what="the e-mail about the bank account",
        )

        retired = await client.post(
            "/v1/pensions/retirements",
            json={"cin": CIN, "pension_start": this_month.isoformat()},
            headers=admin,
        )
        assert retired.status_code == 200, retired.text
        run = await client.post(
            "/v1/pensions/payment-runs", json={"month": f"{this_month:%Y-%m}"}, headers=admin
        )
        assert run.status_code == 200, run.text
        assert run.json()["accounts_changed"] == 1
        payments = (await client.get("/v1/pensions/me/payments", headers=citizen)).json()
        (paid,) = payments["items"]
        assert paid["month"] == f"{this_month:%Y-%m}"
        assert paid["status"] == "paid"
        assert float(paid["amount"]) > 0
        assert paid["account"]["last4"] == new_rib[-4:]
