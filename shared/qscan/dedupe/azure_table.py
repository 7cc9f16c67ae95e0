"""Azure Table Storage dedupe store (semantics: `qscan.dedupe.base`, identical to DynamoDB's).

Entity layout:

* `RowKey` = sha256 hex of the dedupe key and `PartitionKey` = its first two hex digits (256 partitions).
  PartitionKey/RowKey forbid `/ \\ # ?` and control characters, which real keys contain (`image#sha256:...`),
  so keys are hashed deterministically; the original key is kept in the `dedupe_key` property and checked on
  every read (a hash collision is reported, never silently merged);
* `state`, `owner`, `expires_at` (epoch seconds, Edm.Double), `claimed_at`, `completed_at`, `status`,
  `count_<severity>` (Edm.Int32), `result_location`.

Table Storage has no TTL: a record whose `expires_at` has passed is treated as absent, and `purge_expired`
deletes such records (each delete conditional on the ETag it read). Every write is conditional: a claim reads
the entity first (duplicates and cache hits, the common case for Azure resource events, then cost one
request), creates it when absent (fails if it exists meanwhile) or replaces a stale one `If-Match` the ETag
it read; release and complete act `If-Match` the ETag of the owner's claim. A failed condition means
another writer got there first: read again and decide again (bounded). Query filters use `parameters=`, never string concatenation.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from qscan.cloud_errors import azure_error
from qscan.dedupe.base import (
    MAX_ATTEMPTS,
    MAX_CACHE_TTL_SECONDS,
    MAX_LEASE_SECONDS,
    Claim,
    Clock,
    DedupeRecord,
    check_completion,
    check_key,
    check_owner,
    check_seconds,
    counts_from_dict,
    expiry,
    system_clock,
)
from qscan.errors import TransientError
from qscan.results.model import SeverityCounts

LOG = logging.getLogger(__name__)

ROW = "claim"
_COUNT_PREFIX = "count_"


def entity_keys(key: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of a dedupe key: safe characters only, deterministic, evenly spread."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return digest[:2], digest


def _encode(record: DedupeRecord) -> dict[str, Any]:
    partition, row = entity_keys(record.key)
    entity: dict[str, Any] = {
        "PartitionKey": partition,
        "RowKey": row,
        "dedupe_key": record.key,
        "state": record.state,
        "owner": record.owner,
        "expires_at": float(record.expires_at),
        "claimed_at": float(record.claimed_at),
    }
    if record.completed_at is not None:
        entity["completed_at"] = float(record.completed_at)
    if record.status is not None:
        entity["status"] = record.status
    if record.counts is not None:
        for name, value in record.counts.to_dict().items():
            entity[_COUNT_PREFIX + name] = int(value)
    if record.result_location is not None:
        entity["result_location"] = record.result_location
    return entity


def _decode(entity: Any, key: str) -> DedupeRecord:
    if entity.get("dedupe_key") != key:
        # Two keys with one sha256 (or a foreign entity): never treat one artifact as another.
        raise TransientError("dedupe entity belongs to another key")
    state = entity.get("state")
    if state not in ("claimed", "complete"):
        raise TransientError("dedupe record has an unknown state")
    counts: SeverityCounts | None = None
    count_values = {k[len(_COUNT_PREFIX) :]: int(v) for k, v in entity.items() if k.startswith(_COUNT_PREFIX)}
    if count_values:
        counts = counts_from_dict(count_values)
    completed = entity.get("completed_at")
    return DedupeRecord(
        key=key,
        state=state,
        owner=str(entity.get("owner") or ""),
        expires_at=int(float(entity.get("expires_at") or 0)),
        claimed_at=float(entity.get("claimed_at") or 0.0),
        completed_at=float(completed) if completed is not None else None,
        status=entity.get("status"),
        counts=counts,
        result_location=entity.get("result_location"),
    )


class AzureTableDedupeStore:
    """`DedupeStore` on one Azure Storage table (a `azure.data.tables.TableClient`)."""

    def __init__(self, table_client: Any, *, clock: Clock = system_clock) -> None:
        self._table = table_client
        self._clock = clock
        self._name = str(getattr(table_client, "table_name", "table"))

    @classmethod
    def from_endpoint(
        cls, endpoint: str, table_name: str, credential: Any, *, clock: Clock = system_clock
    ) -> AzureTableDedupeStore:
        """Build on a table endpoint with a token credential (managed identity; no shared keys)."""
        return cls(TableClient(endpoint=endpoint, table_name=table_name, credential=credential), clock=clock)

    # ------------------------------------------------------------ protocol

    def claim(self, key: str, owner: str, lease_seconds: float) -> Claim:
        check_key(key)
        check_owner(owner)
        lease = check_seconds("lease_seconds", lease_seconds, MAX_LEASE_SECONDS)
        for _ in range(MAX_ATTEMPTS):
            found = self._read(key)
            now = self._clock()
            mine = DedupeRecord(
                key=key, state="claimed", owner=owner, expires_at=expiry(now, lease), claimed_at=now
            )
            if found is None:
                try:
                    self._call("create_entity", self._table.create_entity, entity=_encode(mine))
                except ResourceExistsError:
                    continue  # created by another claimant since the read: read it and decide again
                return Claim(outcome="won", record=mine)
            current, etag = found
            if current.live(now) and current.outcome_for(owner) != "won":
                return Claim(outcome=current.outcome_for(owner), record=current)
            # Stale (lease or cache expired) or the caller's own live claim: replace it, if still unchanged.
            try:
                self._call(
                    "update_entity",
                    self._table.update_entity,
                    entity=_encode(mine),
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue  # another claimant changed or released it first: read again and decide again
            return Claim(outcome="won", record=mine)
        raise TransientError("dedupe claim: the record kept changing; retry later")

    def release(self, key: str, owner: str) -> bool:
        check_key(key)
        check_owner(owner)
        for _ in range(MAX_ATTEMPTS):
            found = self._read(key)
            if found is None or found[0].state != "claimed" or found[0].owner != owner:
                LOG.warning("dedupe release skipped: the claim is no longer held by this owner")
                return False
            partition, row = entity_keys(key)
            try:
                self._call(
                    "delete_entity",
                    self._table.delete_entity,
                    partition_key=partition,
                    row_key=row,
                    etag=found[1],
                    match_condition=MatchConditions.IfNotModified,
                )
                return True
            except ResourceModifiedError:
                continue  # renewed by the owner meanwhile, or taken over: decide again
        raise TransientError("dedupe release: the record kept changing; retry later")

    def complete(  # noqa: PLR0917 - the contract is positional (DESIGN §3 step 2)
        self,
        key: str,
        owner: str,
        status: str,
        counts: SeverityCounts,
        result_location: str | None,
        cache_ttl_seconds: float,
    ) -> bool:
        check_key(key)
        check_owner(owner)
        check_completion(status, result_location)
        ttl = check_seconds("cache_ttl_seconds", cache_ttl_seconds, MAX_CACHE_TTL_SECONDS)
        for _ in range(MAX_ATTEMPTS):
            found = self._read(key)
            if found is None or found[0].state != "claimed" or found[0].owner != owner:
                LOG.warning("dedupe complete skipped: the claim is no longer held by this owner")
                return False
            current, etag = found
            now = self._clock()
            done = DedupeRecord(
                key=key,
                state="complete",
                owner=owner,
                expires_at=expiry(now, ttl),
                claimed_at=current.claimed_at,
                completed_at=now,
                status=status,
                counts=counts,
                result_location=result_location,
            )
            try:
                self._call(
                    "update_entity",
                    self._table.update_entity,
                    entity=_encode(done),
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
                return True
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
        raise TransientError("dedupe complete: the record kept changing; retry later")

    def lookup(self, key: str) -> DedupeRecord | None:
        check_key(key)
        found = self._read(key)
        if found is None or not found[0].live(self._clock()):
            return None
        return found[0]

    # ------------------------------------------------------------ maintenance and set-up

    def purge_expired(self, limit: int = 1000) -> int:
        """Delete up to `limit` expired records (Table has no TTL); each delete is conditional on its ETag."""
        now = self._clock()
        pages = self._call(
            "query_entities",
            self._table.query_entities,
            query_filter="expires_at le @now",
            parameters={"now": float(now)},
            select=["PartitionKey", "RowKey", "expires_at"],
        )
        deleted = 0
        try:
            for entity in pages:
                if deleted >= limit:
                    break
                try:
                    self._call(
                        "delete_entity",
                        self._table.delete_entity,
                        partition_key=entity["PartitionKey"],
                        row_key=entity["RowKey"],
                        etag=entity.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                    deleted += 1
                except ResourceModifiedError:
                    continue  # claimed again meanwhile: it is live now
        except Exception as exc:
            mapped = azure_error(exc, f"table query_entities on {self._name}")
            if mapped is not None:
                raise mapped from exc
            raise
        return deleted

    def create_table(self) -> None:
        """Create the table if missing; for tests and local runs (Terraform creates it in a deployment)."""
        with contextlib.suppress(ResourceExistsError):
            self._call("create_table", self._table.create_table)

    # ------------------------------------------------------------ internals

    def _read(self, key: str) -> tuple[DedupeRecord, str] | None:
        partition, row = entity_keys(key)
        try:
            entity = self._call("get_entity", self._table.get_entity, partition_key=partition, row_key=row)
        except ResourceNotFoundError:
            return None
        return _decode(entity, key), str(entity.metadata["etag"])

    def _call(self, operation: str, method: Any, **params: Any) -> Any:
        try:
            return method(**params)
        except (ResourceExistsError, ResourceModifiedError):
            raise
        except Exception as exc:
            mapped = azure_error(exc, f"table {operation} on {self._name}")
            if mapped is not None:
                raise mapped from exc
            raise
