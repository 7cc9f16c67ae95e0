"""S3 result store: normalized JSON + raw outputs under `qscan.results.keys`, server-side encrypted.

With a KMS key id configured every object is written with `ServerSideEncryption=aws:kms` and that key
(bucket keys keep the KMS request cost down when the bucket enables them); without one, `AES256` (SSE-S3) is
requested explicitly. Locations are `s3://<bucket>/<key>`. The normalized JSON carries the user metadata
`scan-id`, `status`, `schema-version` and, when the target names it, `account` (the key names the account too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from qscan.cloud_errors import aws_error, aws_error_code
from qscan.results.model import SCHEMA_VERSION, ScanResult
from qscan.results.store import ObjectResultStore


class S3ResultStore(ObjectResultStore):
    def __init__(self, bucket: str, *, client: Any | None = None, kms_key_id: str | None = None) -> None:
        if not bucket:
            raise ValueError("bucket must be set")
        self.bucket = bucket
        self.kms_key_id = kms_key_id or None
        if client is None:
            from qscan.aws.sessions import boto3_client  # noqa: PLC0415 - boto3 only when needed

            client = boto3_client("s3")
        self._client = client

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def get_result(self, location: str) -> dict[str, Any]:
        prefix = f"s3://{self.bucket}/"
        if not location.startswith(prefix):
            raise ValueError("location is not in this store's bucket")
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=location[len(prefix) :])["Body"].read()
        except Exception as exc:
            mapped = aws_error(exc, f"s3 get_object from {self.bucket}")
            if mapped is not None:
                raise mapped from exc
            raise
        data: dict[str, Any] = json.loads(body)
        return data

    def _put(self, key: str, body: bytes, content_type: str, result: ScanResult | None) -> None:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
        }
        if result is not None:
            params["Metadata"] = {
                "scan-id": result.scan_id,
                "status": result.status,
                "schema-version": SCHEMA_VERSION,
            }
            if result.target.account:  # hub-spoke: whose artifact (the key names it too)
                params["Metadata"]["account"] = result.target.account
        if self.kms_key_id:
            params["ServerSideEncryption"] = "aws:kms"
            params["SSEKMSKeyId"] = self.kms_key_id
        else:
            params["ServerSideEncryption"] = "AES256"
        try:
            self._client.put_object(**params)
        except Exception as exc:
            mapped = aws_error(exc, f"s3 put_object to {self.bucket}")
            if mapped is not None:
                raise mapped from exc
            raise

    def _get(self, key: str) -> bytes | None:
        try:
            body: bytes = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            if aws_error_code(exc) == "NoSuchKey":
                return None
            mapped = aws_error(exc, f"s3 get_object from {self.bucket}")
            if mapped is not None:
                raise mapped from exc
            raise
        return body

    def _keys(self, prefix: str) -> Iterator[str]:
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            try:
                page = self._client.list_objects_v2(**params)
            except Exception as exc:
                mapped = aws_error(exc, f"s3 list_objects_v2 in {self.bucket}")
                if mapped is not None:
                    raise mapped from exc
                raise
            for item in page.get("Contents", ()):
                yield str(item["Key"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token
