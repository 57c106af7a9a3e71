"""S3-compatible storage against a real S3 HTTP server on 127.0.0.1 (moto's server, a dev
dependency): streamed in parts, measured, type-checked, and nothing left on failure."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from marfiq_shared.storage import FileTooLarge, FileTypeRefused, open_storage
from marfiq_shared.storage_s3 import MIB, S3Location, S3Storage
from marfiq_shared.testing import local_s3_server

BUCKET = "marfiq-test"
PDF_HEAD = b"%PDF-1.7\n"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with local_s3_server() as url:
        yield url


@pytest.fixture
async def storage(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[S3Storage]:
    # Credentials from the usual variables, as in production; the local server takes any.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "marfiq-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "marfiq-test-secret")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    url = f"s3://{BUCKET}/files?endpoint={endpoint}&region=eu-west-3&addressing=path&part_mib=5"
    opened = open_storage(url)
    assert isinstance(opened, S3Storage)
    client = await opened.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        await client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
    yield opened
    listed = await client.list_objects_v2(Bucket=BUCKET)
    for item in listed.get("Contents", []):
        await client.delete_object(Bucket=BUCKET, Key=item["Key"])
    await opened.close()


async def objects(storage: S3Storage) -> list[str]:
    client = await storage.client()
    listed = await client.list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


async def pending_uploads(storage: S3Storage) -> list[Any]:
    client = await storage.client()
    return list((await client.list_multipart_uploads(Bucket=BUCKET)).get("Uploads", []))


def pdf_of(size: int) -> bytes:
    return PDF_HEAD + bytes(range(256)) * ((size - len(PDF_HEAD)) // 256)


async def pieces(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_small_file_is_stored_measured_and_read_back(storage: S3Storage) -> None:
    data = pdf_of(100_000)

    stored = await storage.put("files/2026/12/a", pieces(data), max_bytes=MIB)

    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == "application/pdf"
    assert await objects(storage) == ["files/files/2026/12/a"]
    assert b"".join([chunk async for chunk in storage.read("files/2026/12/a")]) == data
    assert await storage.exists("files/2026/12/a")
    await storage.delete("files/2026/12/a")
    assert not await storage.exists("files/2026/12/a")


async def test_a_large_file_goes_up_in_parts_while_it_is_still_arriving(
    storage: S3Storage,
) -> None:
    data = pdf_of(17 * MIB)
    seen_parts: list[int] = []

    async def arriving() -> AsyncIterator[bytes]:
        async for chunk in pieces(data, 256 * 1024):
            yield chunk
        # Before the last bytes were handed over, parts were already in the store: the
        # file was never held whole.
        uploads = await pending_uploads(storage)
        client = await storage.client()
        for upload in uploads:
            listed = await client.list_parts(
                Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"]
            )
            seen_parts.append(len(listed.get("Parts", [])))

    stored = await storage.put("big", arriving(), max_bytes=64 * MIB)

    assert seen_parts == [3]  # three 5 MiB parts sent; the last 2 MiB still in hand
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    client = await storage.client()
    head = await client.head_object(Bucket=BUCKET, Key="files/big")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-4")  # a multipart object of four parts
    assert head["ContentType"] == "application/pdf"
    digest = hashlib.sha256()
    async for chunk in storage.read("big"):
        digest.update(chunk)
    assert digest.hexdigest() == stored.sha256
    assert await pending_uploads(storage) == []


async def test_a_disguised_program_is_refused_before_anything_is_sent(
    storage: S3Storage,
) -> None:
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(6 * MIB)

    with pytest.raises(FileTypeRefused):
        await storage.put("scan.pdf", pieces(program), max_bytes=64 * MIB)

    assert await objects(storage) == []
    assert await pending_uploads(storage) == []


async def test_an_upload_over_the_limit_half_way_is_aborted_and_leaves_nothing(
    storage: S3Storage,
) -> None:
    with pytest.raises(FileTooLarge):
        await storage.put("too-big", pieces(pdf_of(13 * MIB)), max_bytes=12 * MIB)

    assert await objects(storage) == []
    assert await pending_uploads(storage) == []


async def test_a_client_leaving_half_way_leaves_nothing(storage: S3Storage) -> None:
    async def leaving() -> AsyncIterator[bytes]:
        async for chunk in pieces(pdf_of(11 * MIB)):
            yield chunk
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put("gone", leaving(), max_bytes=64 * MIB)

    assert await objects(storage) == []
    assert await pending_uploads(storage) == []


async def test_reading_what_is_absent_is_file_not_found(storage: S3Storage) -> None:
    with pytest.raises(FileNotFoundError):
        async for _ in storage.read("nothing/here"):
            pass
    assert not await storage.exists("nothing/here")


def test_s3_urls_carry_the_options_and_never_credentials() -> None:
    where = S3Location.from_url(
        "s3://archive/marfiq/files?endpoint=https://s3.example.ma&region=ma-1&addressing=path"
    )
    assert (where.bucket, where.prefix, where.endpoint_url, where.region) == (
        "archive",
        "marfiq/files",
        "https://s3.example.ma",
        "ma-1",
    )
    assert where.part_bytes == 8 * MIB
    with pytest.raises(ValueError, match="credentials"):
        S3Location.from_url("s3://key:secret@bucket/prefix")
    with pytest.raises(ValueError, match="5 MiB"):
        S3Location.from_url("s3://bucket/prefix?part_mib=1")
    with pytest.raises(ValueError, match="unknown"):
        S3Location.from_url("s3://bucket/prefix?colour=blue")


async def test_a_drawn_document_is_stored_and_returned(storage: S3Storage) -> None:
    data = pdf_of(137_000)

    stored, document = await storage.put_drawn("documents/r.pdf", lambda: data)

    assert document == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await objects(storage) == ["files/documents/r.pdf"]
    assert b"".join([chunk async for chunk in storage.read("documents/r.pdf")]) == data
