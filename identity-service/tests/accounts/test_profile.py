"""Profile changes: language at once, a new contact only with the code sent to it."""

from __future__ import annotations

from delivery_support import code_in
from identity_support import Identity, bearer

from marfiq_identity.accounts.models import AccountKind
from marfiq_identity.dev import issue_tokens_for


async def test_language_changes_at_once(identity: Identity) -> None:
    tokens = await identity.sign_in("+212661500001")

    changed = await identity.client.patch(
        "/v1/me", json={"language": "ar"}, headers=bearer(tokens["access_token"])
    )

    assert changed.status_code == 200
    assert changed.json()["language"] == "ar"
    assert changed.json()["pending_contact"] is None


async def test_a_new_phone_needs_the_code_sent_to_it_and_the_old_one_is_told(
    identity: Identity,
) -> None:
    tokens = await identity.sign_in("+212661500002")
    headers = bearer(tokens["access_token"])

    pending = await identity.client.patch("/v1/me", json={"phone": "0661500003"}, headers=headers)

    assert pending.status_code == 200
    assert pending.json()["phone"] == "+212661500002"  # not yet
    challenge = pending.json()["pending_contact"]
    assert challenge["channel"] == "sms"
    text = await identity.received_text("+212661500003")
    assert "nouveau contact" in text
    confirmed = await identity.client.post(
        "/v1/me/contact/verify",
        json={"challenge_id": challenge["challenge_id"], "code": code_in(text)},
        headers=headers,
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["phone"] == "+212661500003"
    await identity.app.state.delivery_worker.run_once()
    told = await identity.received_text("+212661500002", count=2)
    assert "changé" in told


async def test_a_wrong_code_or_a_sign_in_code_does_not_change_the_contact(
    identity: Identity,
) -> None:
    tokens = await identity.sign_in("someone@example.ma")
    headers = bearer(tokens["access_token"])
    pending = await identity.client.patch(
        "/v1/me", json={"email": "new@example.ma"}, headers=headers
    )
    challenge_id = pending.json()["pending_contact"]["challenge_id"]
    code = await identity.code_for("new@example.ma")
    sign_in = await identity.request_code("+212661500004")

    wrong = await identity.client.post(
        "/v1/me/contact/verify",
        json={"challenge_id": challenge_id, "code": f"{(int(code) + 1) % 10**6:06d}"},
        headers=headers,
    )
    other_purpose = await identity.client.post(
        "/v1/me/contact/verify",
        json={
            "challenge_id": sign_in.json()["challenge_id"],
            "code": await identity.code_for("+212661500004"),
        },
        headers=headers,
    )

    assert wrong.status_code == 400
    assert wrong.json()["type"].endswith("/otp-invalid")
    assert other_purpose.status_code == 400
    assert other_purpose.json()["type"].endswith("/otp-expired")
    me = await identity.client.get("/v1/me", headers=headers)
    assert me.json()["email"] == "someone@example.ma"


async def test_a_proven_account_needs_a_stronger_session_to_change_contacts(
    identity: Identity,
) -> None:
    account = await identity.account(
        kind=AccountKind.citizen, phone="+212661500005", cin="BK100001"
    )
    low = await issue_tokens_for(identity.app, account, acr="low")
    high = await issue_tokens_for(identity.app, account, acr="high", amr=["sc"])

    refused = await identity.client.patch(
        "/v1/me", json={"phone": "+212661500006"}, headers=bearer(low.access_token)
    )
    accepted = await identity.client.patch(
        "/v1/me", json={"phone": "+212661500006"}, headers=bearer(high.access_token)
    )

    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/step-up-required")
    assert refused.json()["required_acr"] == "substantial"
    assert accepted.status_code == 200


async def test_a_contact_of_another_account_cannot_be_taken(identity: Identity) -> None:
    await identity.account(kind=AccountKind.citizen, phone="+212661500007")
    tokens = await identity.sign_in("+212661500008")
    headers = bearer(tokens["access_token"])
    pending = await identity.client.patch(
        "/v1/me", json={"phone": "+212661500007"}, headers=headers
    )

    taken = await identity.client.post(
        "/v1/me/contact/verify",
        json={
            "challenge_id": pending.json()["pending_contact"]["challenge_id"],
            "code": await identity.code_for("+212661500007"),
        },
        headers=headers,
    )

    assert taken.status_code == 409
    assert taken.json()["type"].endswith("/contact-taken")


BAD_CHANGES = (
    {"phone": "+212661500009", "email": "both@example.ma"},
    {"phone": "123"},
    {"email": "nope"},
    {"language": "de"},
    {"email": "x" * 300},
    {"kind": "platform_admin"},
)


async def test_bad_profile_changes_are_refused(identity: Identity) -> None:
    tokens = await identity.sign_in("+212661500010")

    for body in BAD_CHANGES:
        answer = await identity.client.patch(
            "/v1/me", json=body, headers=bearer(tokens["access_token"])
        )
        assert answer.status_code == 422, body
        assert answer.headers["content-type"].startswith("application/problem+json")
