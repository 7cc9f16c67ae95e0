"""Azure Blob result store: normalized JSON + raw outputs under `qscan.results.keys`.

Blob Storage always encrypts at rest; an optional encryption scope (customer-managed key) is passed on every
write. Authenticate with a managed identity (`from_account_url`); no shared keys. Locations are blob URLs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings

from qscan.cloud_errors import azure_error
from qscan.results.model import SCHEMA_VERSION, ScanResult
from qscan.results.store import ObjectResultStore


class BlobResultStore(ObjectResultStore):
    def __init__(self, container: ContainerClient, *, encryption_scope: str | None = None) -> None:
        self._container = container
        self.encryption_scope = encryption_scope or None

    @classmethod
    def from_account_url(
        cls, account_url: str, container_name: str, credential: Any, *, encryption_scope: str | None = None
    ) -> BlobResultStore:
        service = BlobServiceClient(account_url=account_url, credential=credential)
        return cls(service.get_container_client(container_name), encryption_scope=encryption_scope)

    def location(self, key: str) -> str:
        return str(self._container.get_blob_client(key).url)

    def get_result(self, location: str) -> dict[str, Any]:
        container_url = str(self._container.url).rstrip("/") + "/"
        if not location.startswith(container_url):
            raise ValueError("location is not in this store's container")
        name = unquote(urlsplit(location).path[len(urlsplit(container_url).path) :])
        try:
            body = self._container.download_blob(name).readall()
        except Exception as exc:
            mapped = azure_error(exc, "blob download")
            if mapped is not None:
                raise mapped from exc
            raise
        data: dict[str, Any] = json.loads(body)
        return data

    def _put(self, name: str, body: bytes, content_type: str, result: ScanResult | None) -> None:
        kwargs: dict[str, Any] = {}
        if self.encryption_scope:
            kwargs["encryption_scope"] = self.encryption_scope
        if result is not None:
            kwargs["metadata"] = {
                "scan_id": result.scan_id,
                "status": result.status,
                "schema_version": SCHEMA_VERSION,
            }
        try:
            self._container.upload_blob(
                name,
                body,
                overwrite=True,
                content_settings=ContentSettings(content_type=content_type),
                **kwargs,
            )
        except Exception as exc:
            mapped = azure_error(exc, "blob upload")
            if mapped is not None:
                raise mapped from exc
            raise

    def _get(self, name: str) -> bytes | None:
        try:
            body: bytes = self._container.download_blob(name).readall()
        except Exception as exc:
            if isinstance(exc, ResourceNotFoundError) and getattr(exc, "error_code", None) == "BlobNotFound":
                return None
            mapped = azure_error(exc, "blob download")
            if mapped is not None:
                raise mapped from exc
            raise
        return body

    def _keys(self, prefix: str) -> Iterator[str]:
        try:
            for blob in self._container.list_blobs(name_starts_with=prefix or None):
                yield str(blob.name)
        except Exception as exc:
            mapped = azure_error(exc, "blob list")
            if mapped is not None:
                raise mapped from exc
            raise
