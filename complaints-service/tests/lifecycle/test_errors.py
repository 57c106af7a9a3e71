import orjson
import pytest

from marfiq_complaints.lifecycle import errors
from marfiq_shared.i18n import LANGUAGES, current_language, translate
from marfiq_shared.problems import (
    PROBLEM_BASE,
    Conflict,
    Forbidden,
    Problem,
    ValidationFailed,
    problem_response,
)

ERRORS: list[type[Problem]] = [
    value
    for value in vars(errors).values()
    if isinstance(value, type)
    and issubclass(value, Problem)
    and value.__module__ == errors.__name__
    and value is not errors.FieldInvalid
]

STATUS = {
    errors.IllegalTransition: (Conflict, 409),
    errors.ActorNotAllowed: (Forbidden, 403),
    errors.ReasonRequired: (ValidationFailed, 422),
    errors.AssigneeRequired: (ValidationFailed, 422),
    errors.InvalidRedirectTarget: (ValidationFailed, 422),
    errors.InvalidRating: (ValidationFailed, 422),
    errors.UrgencyNotApplicable: (ValidationFailed, 422),
    errors.AlreadyExtended: (Conflict, 409),
    errors.ExtensionTooLate: (Conflict, 409),
    errors.ReopenWindowClosed: (Conflict, 409),
    errors.ReopenLimitReached: (Conflict, 409),
    errors.ReopenWindowOpen: (Conflict, 409),
    errors.AlreadyRated: (Conflict, 409),
}


def test_every_error_is_listed_with_its_status() -> None:
    assert set(ERRORS) == set(STATUS)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_each_error_has_its_status_and_a_title_in_each_language(error: type[Problem]) -> None:
    base, status = STATUS[error]
    assert issubclass(error, base)
    assert error.status == status
    assert error.code.startswith("complaint-")
    titles = {language: translate(error.code, language) for language in LANGUAGES}
    assert error.code not in titles.values()
    assert len(set(titles.values())) == len(LANGUAGES)


def test_codes_are_unique() -> None:
    assert len({error.code for error in ERRORS}) == len(ERRORS)


def test_an_illegal_transition_renders_as_409_problem_json_in_arabic() -> None:
    error = errors.IllegalTransition("cannot rate", state="submitted", action="rate")
    token = current_language.set("ar")
    try:
        response = problem_response(
            error.status, error.code, detail=error.detail, **error.extensions
        )
    finally:
        current_language.reset(token)
    assert response.status_code == 409
    assert orjson.loads(response.body) == {
        "type": PROBLEM_BASE + "complaint-illegal-transition",
        "title": "هذه الخطوة غير ممكنة في الحالة الحالية للشكاية.",
        "status": 409,
        "detail": "cannot rate",
        "state": "submitted",
        "action": "rate",
    }


def test_a_missing_reason_names_the_field() -> None:
    error = errors.ReasonRequired("reason", "a reason is required for this step")
    assert error.extensions == {
        "errors": [
            {
                "field": "reason",
                "in": "body",
                "message": "a reason is required for this step",
                "code": "complaint-reason-required",
            }
        ]
    }
