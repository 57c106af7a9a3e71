"""Stored files in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Scaleway …).

Selected by URL: `s3://bucket/prefix`, with what a deployment needs in the query string:
`endpoint` (the store's base URL; absent: AWS), `region`, `addressing` (`path` for most
self-hosted stores, `virtual`) and `part_mib` (multipart part size, at least 5). Credentials
never go in the URL: they come from botocore's usual chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, a container or instance role,
Kubernetes service-account tokens), as every S3 tool reads them.

A file is streamed: the bytes go to the store part by part as they arrive (an S3 multipart
upload; one PUT when the whole file is smaller than a part), so a process holds at most one
part per upload. The object exists only once complete: a refused type (sniffed before any
byte is sent), the size limit, or a client leaving half-way aborts the multipart upload and
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from marfiq_shared.storage import (
    CHUNK_BYTES,
    DOCUMENT_TYPES,
    StoredObject,
    _Measured,
    check_key,
)

MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB  # S3's smallest part but the last
_ABSENT = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where objects go, parsed from an `s3://` URL."""

    bucket: str
    prefix: str
    endpoint_url: str | None = None
    region: str | None = None
    addressing: str | None = None
    part_bytes: int = 8 * MIB

    @classmethod
    def from_url(cls, url: str) -> S3Location:
        parsed = urlsplit(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"{url}: expected s3://bucket/prefix")
        if parsed.username or parsed.password:
            raise ValueError("S3 credentials do not go in the URL; use AWS_ACCESS_KEY_ID …")
        query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        unknown = set(query) - {"endpoint", "region", "addressing", "part_mib"}
        if unknown:
            raise ValueError(f"{url}: unknown S3 option(s) {sorted(unknown)}")
        addressing = query.get("addressing")
        if addressing not in (None, "path", "virtual"):
            raise ValueError(f"{url}: addressing is path or virtual")
        part_bytes = int(float(query.get("part_mib", "8")) * MIB)
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"{url}: parts are at least 5 MiB (S3's minimum)")
        prefix = parsed.path.strip("/")
        if prefix:
            check_key(prefix)
        return cls(
            bucket=parsed.netloc,
            prefix=prefix,
            endpoint_url=query.get("endpoint"),
            region=query.get("region"),
            addressing=addressing,
            part_bytes=part_bytes,
        )


class S3Storage:
    """Objects under `prefix` in a bucket; the client is opened on first use."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._client: Any = None
        self._context: Any = None
        self._opening = asyncio.Lock()

    def object_key(self, key: str) -> str:
        key = check_key(key)
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    async def client(self) -> Any:
        """The S3 client of this process (one connection pool for every request)."""
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    where = self.location
                    config = AioConfig(
                        s3={"addressing_style": where.addressing} if where.addressing else None,
                        retries={"max_attempts": 3, "mode": "standard"},
                        connect_timeout=5,
                        read_timeout=60,
                    )
                    context = get_session().create_client(
                        "s3",
                        endpoint_url=where.endpoint_url,
                        region_name=where.region,
                        config=config,
                    )
                    self._client = await context.__aenter__()
                    self._context = context
        return self._client

    async def close(self) -> None:
        if self._context is not None:
            context, self._context, self._client = self._context, None, None
            await context.__aexit__(None, None, None)

    async def put(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int,
        accept: Collection[str] = DOCUMENT_TYPES,
    ) -> StoredObject:
        name = self.object_key(key)
        client = await self.client()
        bucket, part_bytes = self.location.bucket, self.location.part_bytes
        measured = _Measured(max_bytes=max_bytes, accept=accept)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += measured.take(chunk)
                while len(buffer) >= part_bytes:
                    if upload_id is None:
                        started = await client.create_multipart_upload(
                            Bucket=bucket, Key=name, ContentType=measured.content_type
                        )
                        upload_id = started["UploadId"]
                    piece = bytes(buffer[:part_bytes])
                    del buffer[:part_bytes]
                    answer = await client.upload_part(
                        Bucket=bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=len(parts) + 1,
                        Body=piece,
                    )
                    parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
            buffer += measured.finish()
            if upload_id is None:
                await client.put_object(
                    Bucket=bucket, Key=name, Body=bytes(buffer), ContentType=measured.content_type
                )
            else:
                if buffer:
                    answer = await client.upload_part(
                        Bucket=bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=len(parts) + 1,
                        Body=bytes(buffer),
                    )
                    parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
                await client.complete_multipart_upload(
                    Bucket=bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            if upload_id is not None:
                # Shielded: parts of a cancelled upload must not stay billed in the bucket.
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)
                    )
            raise
        return measured.stored(key)

    async def put_drawn(
        self, key: str, draw: Callable[[], bytes], *, accept: Collection[str] = DOCUMENT_TYPES
    ) -> tuple[StoredObject, bytes]:
        data = await asyncio.to_thread(draw)
        stored = await self.put(key, _whole(data), max_bytes=len(data), accept=accept)
        return stored, data

    async def read(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        client = await self.client()
        try:
            answer = await client.get_object(Bucket=self.location.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _absent(error):
                raise FileNotFoundError(key) from error
            raise
        async with answer["Body"] as body:
            while chunk := await body.read(chunk_bytes):
                yield chunk

    async def delete(self, key: str) -> None:
        client = await self.client()
        await client.delete_object(Bucket=self.location.bucket, Key=self.object_key(key))

    async def exists(self, key: str) -> bool:
        client = await self.client()
        try:
            await client.head_object(Bucket=self.location.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _absent(error):
                return False
            raise
        return True


def _absent(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _ABSENT


async def _whole(data: bytes) -> AsyncIterator[bytes]:
    yield data
