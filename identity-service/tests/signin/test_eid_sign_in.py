"""Sign-in with the identity card over HTTP, with a test country's CSCA and simulated chips."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import jwt
import pytest
from identity_support import Identity, bearer, make_settings

from marfiq_identity.eid.testing import Chip, Csca, DocumentSigner, td1_mrz
from marfiq_identity.settings import IdentitySettings


@pytest.fixture(scope="module")
def country() -> tuple[Csca, DocumentSigner]:
    csca = Csca.create()
    return csca, csca.document_signer(key_type="ec-p256")


@pytest.fixture
def settings(
    database_url: str, clean: None, delivery: dict[str, object], country: tuple[Csca, Any]
) -> IdentitySettings:
    return make_settings(database_url, **delivery, eid_csca_pem=country[0].pem.decode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _answer(identity: Identity, chip: Chip, **headers: str):  # type: ignore[no-untyped-def]
    opened = await identity.client.post("/v1/auth/eid/challenge", json={})
    assert opened.status_code == 201
    nonce = base64.b64decode(opened.json()["nonce"])
    assert len(nonce) == 8
    body = {
        "challenge_id": opened.json()["challenge_id"],
        "sod": _b64(chip.sod),
        "dg1": _b64(chip.dg1),
        "dg15": _b64(chip.dg15),
        "signature": _b64(chip.sign(nonce)),
    }
    return await identity.client.post("/v1/auth/eid/verify", json=body, headers=headers), body


@pytest.mark.parametrize("key_type", ["ec-p256", "rsa-2048"])
async def test_a_genuine_card_signs_in_at_high_with_its_cin(
    identity: Identity, country: tuple[Csca, DocumentSigner], key_type: Any
) -> None:
    chip = country[1].issue(aa_key_type=key_type, mrz=td1_mrz(cin="BK654321"))

    answer, _ = await _answer(identity, chip)

    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["acr"] == "high"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["cin"] == "BK654321"
    assert claims["acr"] == "high"
    assert claims["roles"] == ["citizen"]
    again, _ = await _answer(identity, chip)
    assert (
        jwt.decode(again.json()["access_token"], options={"verify_signature": False})["sub"]
        == claims["sub"]
    )


async def test_a_card_read_while_signed_in_ties_the_cin_to_that_account(
    identity: Identity, country: tuple[Csca, DocumentSigner]
) -> None:
    tokens = await identity.sign_in("+212661400001")
    chip = country[1].issue(mrz=td1_mrz(cin="BK000001"))

    answer, _ = await _answer(identity, chip, **bearer(tokens["access_token"]))

    assert answer.status_code == 200, answer.text
    me = await identity.client.get("/v1/me", headers=bearer(answer.json()["access_token"]))
    assert me.json()["cin"] == "BK000001"
    assert me.json()["phone"] == "+212661400001"
    assert me.json()["acr"] == "high"


async def test_a_replayed_nonce_is_refused(
    identity: Identity, country: tuple[Csca, DocumentSigner]
) -> None:
    chip = country[1].issue(mrz=td1_mrz(cin="BK000002"))
    first, body = await _answer(identity, chip)
    assert first.status_code == 200

    replay = await identity.client.post("/v1/auth/eid/verify", json=body)

    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/eid-challenge-invalid")


async def test_a_card_of_an_untrusted_country_is_refused_and_burns_the_nonce(
    identity: Identity,
) -> None:
    forger = Csca.create(common_name="CSCA Faux")
    chip = forger.document_signer().issue(mrz=td1_mrz(cin="BK000003"))

    refused, body = await _answer(identity, chip)
    retry = await identity.client.post("/v1/auth/eid/verify", json=body)

    assert refused.status_code == 401
    assert refused.json()["type"].endswith("/eid-untrusted-signer")
    assert retry.json()["type"].endswith("/eid-challenge-invalid")


async def test_a_genuine_card_refused_for_its_account_also_burns_the_nonce(
    identity: Identity, country: tuple[Csca, DocumentSigner]
) -> None:
    # The card is checked in the transaction that spends the nonce; a refusal of the
    # account step (CIN proven elsewhere) must still commit the spent nonce.
    holder = country[1].issue(mrz=td1_mrz(cin="BK000004"))
    assert (await _answer(identity, holder))[0].status_code == 200
    other = await identity.sign_in("+212661400002")

    refused, body = await _answer(identity, holder, **bearer(other["access_token"]))
    retry = await identity.client.post("/v1/auth/eid/verify", json=body)

    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/cin-mismatch")
    assert retry.json()["type"].endswith("/eid-challenge-invalid")


@pytest.mark.parametrize(
    ("field", "value"),
    [("sod", "!!!!"), ("dg1", "AAAA"), ("dg15", "A" * 5000), ("signature", "")],
)
async def test_garbage_fields_are_4xx_problems(
    identity: Identity, country: tuple[Csca, DocumentSigner], field: str, value: str
) -> None:
    chip = country[1].issue()
    opened = (await identity.client.post("/v1/auth/eid/challenge", json={})).json()
    nonce = base64.b64decode(opened["nonce"])
    body = {
        "challenge_id": opened["challenge_id"],
        "sod": _b64(chip.sod),
        "dg1": _b64(chip.dg1),
        "dg15": _b64(chip.dg15),
        "signature": _b64(chip.sign(nonce)),
        field: value,
    }

    answer = await identity.client.post("/v1/auth/eid/verify", json=body)

    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_simultaneous_first_sign_ins_with_one_card_create_one_account(
    identity: Identity, country: tuple[Csca, DocumentSigner]
) -> None:
    chip = country[1].issue(aa_key_type="ec-p256", mrz=td1_mrz(cin="BK700001"))

    answers = await asyncio.gather(*(_answer(identity, chip) for _ in range(4)))

    assert [answer.status_code for answer, _ in answers] == [200] * 4
    subjects = {
        jwt.decode(answer.json()["access_token"], options={"verify_signature": False})["sub"]
        for answer, _ in answers
    }
    assert len(subjects) == 1
