"""Malformed contacts, codes and bodies are 4xx problems, never 500."""

from __future__ import annotations

from identity_support import Identity

MALFORMED_CONTACTS = (
    ("sms", "12"),
    ("sms", "+2126"),
    ("sms", "not a number"),
    ("sms", "+212537000000"),  # a fixed line cannot receive the code
    ("sms", "someone@example.ma"),
    ("email", "foo@"),
    ("email", "@example.ma"),
    ("email", "a b@example.ma"),
    ("email", "+212612345678"),
    ("email", "x" * 250 + "@e.ma"),
    ("email", "é" * 300),
    ("fax", "+212612345678"),
)


# One app for every case (a case is one request): the suite stays fast.
async def test_malformed_contacts_are_refused(identity: Identity) -> None:
    for channel, destination in MALFORMED_CONTACTS:
        answer = await identity.request_code(destination, channel=channel)

        assert answer.status_code == 422, (channel, destination)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert identity.sms.calls == 0  # type: ignore[union-attr]


MALFORMED_VERIFICATIONS = (
    {"challenge_id": "not-a-uuid", "code": "123456"},
    {"challenge_id": "0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60", "code": "12345"},
    {"challenge_id": "0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60", "code": "abcdef"},
    {"challenge_id": "0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60", "code": "1" * 10_000},
    {"challenge_id": "0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60"},
    {"challenge_id": None, "code": None},
    [],
)


async def test_malformed_verifications_are_refused(identity: Identity) -> None:
    for body in MALFORMED_VERIFICATIONS:
        answer = await identity.client.post("/v1/auth/otp/verify", json=body)

        assert answer.status_code == 422, body
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_garbage_and_oversized_bodies_are_refused(identity: Identity) -> None:
    garbage = await identity.client.post(
        "/v1/auth/otp", content=b"\xff{not json", headers={"Content-Type": "application/json"}
    )
    huge = await identity.client.post(
        "/v1/auth/otp", json={"channel": "sms", "destination": "1" * 2_000_000}
    )

    assert garbage.status_code == 400
    assert huge.status_code == 413


async def test_unknown_challenge_is_refused_like_an_expired_one(identity: Identity) -> None:
    answer = await identity.verify("0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60", "123456")

    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/otp-expired")
