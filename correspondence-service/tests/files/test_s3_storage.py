"""Files in an S3-compatible store by configuration (CORRESPONDENCE_STORAGE_URL=s3://…):
a letter's attachment and its signed receipt go to a real S3 HTTP server on 127.0.0.1
(moto's server) and come back from it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from correspondence_support import Clock, Signer, make_settings, running

from marfiq_shared.documents import verify_pdf
from marfiq_shared.storage_s3 import S3Storage
from marfiq_shared.testing import local_s3_server

BUCKET = "marfiq-correspondence"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with local_s3_server() as url:
        yield url


@pytest.fixture
def store_url(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "marfiq-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "marfiq-test-secret")
    url = f"s3://{BUCKET}/correspondence?endpoint={endpoint}&region=us-east-1&addressing=path"
    return url


async def test_attachments_and_receipts_live_in_the_s3_store_when_configured(
    database_url: str, clean: None, tmp_path: Path, pki_dir: Path, store_url: str
) -> None:
    settings = make_settings(database_url, tmp_path, pki_dir, storage_url=store_url)
    async with running(settings, signer=Signer(), clock=Clock()) as service:
        storage = service.app.state.storage
        assert isinstance(storage, S3Storage)
        client = await storage.client()
        await client.create_bucket(Bucket=BUCKET)
        mef = await service.administration("MEF")
        citizen = service.citizen(cin="AB123456")
        scan = b"%PDF-1.7\n" + bytes(range(256)) * 512
        file_id = await service.file_id(citizen, scan, "demande.pdf")

        created = await service.send(citizen, mef, file_ids=[file_id])
        receipt = await service.client.get(created["receipt_url"], headers=citizen.headers)

        assert receipt.status_code == 200, receipt.text
        assert verify_pdf(receipt.content, service.pki.trust_roots()).valid
        listed = await client.list_objects_v2(Bucket=BUCKET)
        keys = sorted(item["Key"] for item in listed.get("Contents", []))
        assert [key.split("/")[1] for key in keys] == ["documents", "files"]
        assert all(key.startswith("correspondence/") for key in keys)
        assert not service.stored_files()  # nothing on the local disk
        detail = (await service.read(citizen, created["id"])).json()
        (attachment,) = [doc for doc in detail["documents"] if doc["kind"] == "attachment"]
        download = await service.client.get(attachment["download_url"], headers=citizen.headers)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(scan).hexdigest()
