"""The request and answer models of eID sign-in, and the localised problems."""

from __future__ import annotations

import base64
import uuid

import pytest
from pydantic import ValidationError

from marfiq_identity.eid import errors
from marfiq_identity.eid.errors import EidMalformed
from marfiq_identity.eid.schemas import (
    MAX_SOD_BYTES,
    EidChallengeRead,
    EidVerify,
    decode_base64,
    encode_base64,
)
from marfiq_identity.eid.testing import Chip
from marfiq_shared.i18n import translate
from marfiq_shared.problems import Problem


def body(chip: Chip, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "challenge_id": str(uuid.uuid4()),
        "sod": encode_base64(chip.sod),
        "dg1": encode_base64(chip.dg1),
        "dg15": encode_base64(chip.dg15),
        "signature": encode_base64(chip.sign(b"12345678")),
    }
    return fields | changes


def test_verify_request_decodes_to_the_chip_files(chip: Chip) -> None:
    request = EidVerify.model_validate(body(chip))

    files = request.files()

    assert files["sod"] == chip.sod
    assert files["dg15"] == chip.dg15
    assert set(files) == {"sod", "dg1", "dg15", "signature"}


@pytest.mark.parametrize(
    "value",
    ["not base64!", "YWJj\n", "YWJjZA", "YW=JjZA==", "-_-_", "", "YWJjZA===", "é" * 8],
)
def test_base64_garbage_is_a_validation_error(ec_chip: Chip, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        EidVerify.model_validate(body(ec_chip, dg1=value))

    assert [error["loc"] for error in refused.value.errors()] == [("dg1",)]


def test_oversized_field_is_a_validation_error(ec_chip: Chip) -> None:
    oversized = encode_base64(b"\x00" * (MAX_SOD_BYTES + 3))

    with pytest.raises(ValidationError):
        EidVerify.model_validate(body(ec_chip, sod=oversized))


def test_largest_allowed_sod_is_accepted(ec_chip: Chip) -> None:
    largest = encode_base64(b"\x00" * MAX_SOD_BYTES)

    assert len(EidVerify.model_validate(body(ec_chip, sod=largest)).files()["sod"]) == (
        MAX_SOD_BYTES
    )


def test_unknown_fields_are_refused(ec_chip: Chip) -> None:
    with pytest.raises(ValidationError):
        EidVerify.model_validate(body(ec_chip, dg14=encode_base64(b"\x6e\x00")))


def test_challenge_answer_carries_the_nonce_in_base64() -> None:
    nonce = bytes(range(8))
    read = EidChallengeRead(challenge_id=uuid.uuid4(), nonce=encode_base64(nonce))

    assert base64.b64decode(read.model_dump()["nonce"]) == nonce


def test_decoding_garbage_is_malformed_not_a_crash() -> None:
    with pytest.raises(EidMalformed):
        decode_base64("***")


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
def test_every_eid_problem_has_a_title_in_each_language(language: str) -> None:
    problems = [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, Problem)
        and value.__module__ == errors.__name__
    ]

    assert len(problems) == len(errors.MESSAGES) == 6
    for problem in problems:
        assert 400 <= problem.status < 500
        assert translate(problem.code, language) == errors.MESSAGES[problem.code][language]  # type: ignore[arg-type]
