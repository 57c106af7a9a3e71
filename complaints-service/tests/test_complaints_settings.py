"""Settings: environment names, and limits that cannot contradict each other."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from marfiq_complaints.settings import ComplaintsSettings


def test_settings_read_the_complaints_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLAINTS_SCHEDULER_INTERVAL_S", "15")
    monkeypatch.setenv("COMPLAINTS_STORAGE_URL", "/srv/attachments")
    monkeypatch.setenv("COMPLAINTS_HOLIDAY_FILES", '["/etc/marfiq/holidays-2028.toml"]')

    settings = ComplaintsSettings()

    assert settings.scheduler_interval_s == 15
    assert settings.storage_url == "/srv/attachments"
    assert [str(path) for path in settings.holiday_files] == ["/etc/marfiq/holidays-2028.toml"]


def test_the_body_limit_must_leave_room_for_an_attachment() -> None:
    with pytest.raises(ValidationError, match="MAX_BODY_BYTES"):
        ComplaintsSettings(attachment_max_bytes=20 * 1024 * 1024, max_body_bytes=1024 * 1024)
