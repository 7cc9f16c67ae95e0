"""DynamoDB dedupe store (semantics: `qscan.dedupe.base`).

Table schema (created by the Terraform `aws-core` store; `create_table` here is for tests and local runs):

* partition key `pk` (string): the dedupe key as is (`image#sha256:...`, `lambda#arn:...#...#...`); no sort key;
* TTL attribute `expires_at` (number, epoch seconds): lease end of a claim, cache end of a completion;
* other attributes: `state` ("claimed" | "complete"), `owner`, `claimed_at`, `completed_at`, `status`,
  `counts` (map of severity label -> number), `result_location`.

Every write is conditional (ConditionExpression with ExpressionAttributeNames/Values; values are never put into
the expression text). A failed claim returns the record that blocked it (`ReturnValuesOnConditionCheckFailure`),
so the outcome is decided atomically, without a second read.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, cast

from qscan.cloud_errors import aws_error, aws_error_code
from qscan.dedupe.base import (
    MAX_ATTEMPTS,
    MAX_CACHE_TTL_SECONDS,
    MAX_LEASE_SECONDS,
    Claim,
    Clock,
    DedupeRecord,
    State,
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

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"

_NAMES = {
    "#pk": PARTITION_KEY,
    "#exp": TTL_ATTRIBUTE,
    "#state": "state",
    "#owner": "owner",
}
# A claim succeeds on an absent key, on an expired record (lease or cache TTL passed), or on the caller's own
# live claim (renewal). Anything else is a live claim of another owner or a live completion.
_CLAIM_CONDITION = "attribute_not_exists(#pk) OR #exp <= :now OR (#state = :claimed AND #owner = :owner)"
_OWNER_CONDITION = "#state = :claimed AND #owner = :owner"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _num(value: float) -> dict[str, str]:
    return {"N": format(Decimal(str(value)), "f")}


def _encode(record: DedupeRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        PARTITION_KEY: {"S": record.key},
        "state": {"S": record.state},
        "owner": {"S": record.owner},
        TTL_ATTRIBUTE: _num(record.expires_at),
        "claimed_at": _num(record.claimed_at),
    }
    if record.completed_at is not None:
        item["completed_at"] = _num(record.completed_at)
    if record.status is not None:
        item["status"] = {"S": record.status}
    if record.counts is not None:
        item["counts"] = {"M": {k: _num(v) for k, v in record.counts.to_dict().items()}}
    if record.result_location is not None:
        item["result_location"] = {"S": record.result_location}
    return item


def _decode(item: dict[str, Any]) -> DedupeRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value["S"]) if value and "S" in value else None

    def number(name: str) -> float | None:
        value = item.get(name)
        return float(value["N"]) if value and "N" in value else None

    state = text("state")
    if state not in ("claimed", "complete"):
        raise TransientError("dedupe record has an unknown state")  # a foreign or half-written item
    counts = None
    if "counts" in item and "M" in item["counts"]:
        counts = counts_from_dict({k: int(Decimal(v["N"])) for k, v in item["counts"]["M"].items()})
    return DedupeRecord(
        key=text(PARTITION_KEY) or "",
        state=cast(State, state),
        owner=text("owner") or "",
        expires_at=int(number(TTL_ATTRIBUTE) or 0),
        claimed_at=number("claimed_at") or 0.0,
        completed_at=number("completed_at"),
        status=text("status"),
        counts=counts,
        result_location=text("result_location"),
    )


class DynamoDBDedupeStore:
    """`DedupeStore` on one DynamoDB table (see the module docstring for its schema)."""

    def __init__(self, table_name: str, *, client: Any | None = None, clock: Clock = system_clock) -> None:
        if not table_name:
            raise ValueError("table_name must be set")
        if client is None:
            from qscan.aws.sessions import boto3_client  # noqa: PLC0415 - boto3 only when needed

            client = boto3_client("dynamodb")
        self.table_name = table_name
        self._client = client
        self._clock = clock

    # ------------------------------------------------------------ protocol

    def claim(self, key: str, owner: str, lease_seconds: float) -> Claim:
        check_key(key)
        check_owner(owner)
        lease = check_seconds("lease_seconds", lease_seconds, MAX_LEASE_SECONDS)
        for _ in range(MAX_ATTEMPTS):
            now = self._clock()
            record = DedupeRecord(
                key=key, state="claimed", owner=owner, expires_at=expiry(now, lease), claimed_at=now
            )
            try:
                self._call(
                    "put_item",
                    TableName=self.table_name,
                    Item=_encode(record),
                    ConditionExpression=_CLAIM_CONDITION,
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={
                        ":now": _num(now),
                        ":claimed": {"S": "claimed"},
                        ":owner": {"S": owner},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except _ConditionFailed as failed:
                if failed.item is None:  # the blocking record was not returned: read it (consistently)
                    current = self._get(key)
                    if current is None or not current.live(now):
                        continue  # it went away between the write and the read: try again
                else:
                    current = _decode(failed.item)
                LOG.debug("dedupe claim lost", extra={"outcome": current.outcome_for(owner)})
                return Claim(outcome=current.outcome_for(owner), record=current)
            return Claim(outcome="won", record=record)
        raise TransientError("dedupe claim: the record kept changing; retry later")

    def release(self, key: str, owner: str) -> bool:
        check_key(key)
        check_owner(owner)
        try:
            self._call(
                "delete_item",
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": key}},
                ConditionExpression=_OWNER_CONDITION,
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={":claimed": {"S": "claimed"}, ":owner": {"S": owner}},
            )
        except _ConditionFailed:
            LOG.warning("dedupe release skipped: the claim is no longer held by this owner")
            return False
        return True

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
        now = self._clock()
        values: dict[str, Any] = {
            ":claimed": {"S": "claimed"},
            ":owner": {"S": owner},
            ":complete": {"S": "complete"},
            ":exp": _num(expiry(now, ttl)),
            ":now": _num(now),
            ":status": {"S": status},
            ":counts": {"M": {k: _num(v) for k, v in counts.to_dict().items()}},
        }
        update = "SET #state = :complete, #exp = :exp, #done = :now, #status = :status, #counts = :counts"
        if result_location is None:
            update += " REMOVE #loc"
        else:
            update += ", #loc = :loc"
            values[":loc"] = {"S": result_location}
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": key}},
                UpdateExpression=update,
                ConditionExpression=_OWNER_CONDITION,
                ExpressionAttributeNames={
                    "#state": "state",
                    "#owner": "owner",
                    "#exp": TTL_ATTRIBUTE,
                    "#done": "completed_at",
                    "#status": "status",
                    "#counts": "counts",
                    "#loc": "result_location",
                },
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            LOG.warning("dedupe complete skipped: the claim is no longer held by this owner")
            return False
        return True

    def lookup(self, key: str) -> DedupeRecord | None:
        check_key(key)
        record = self._get(key)
        if record is None or not record.live(self._clock()):
            return None
        return record

    # ------------------------------------------------------------ set-up (tests, local runs)

    def create_table(self) -> None:
        """Create the table (on-demand) with its TTL attribute; for tests and the local environment."""
        self._call(
            "create_table",
            TableName=self.table_name,
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self._client.get_waiter("table_exists").wait(TableName=self.table_name)
        self._call(
            "update_time_to_live",
            TableName=self.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    # ------------------------------------------------------------ internals

    def _get(self, key: str) -> DedupeRecord | None:
        response = self._call(
            "get_item", TableName=self.table_name, Key={PARTITION_KEY: {"S": key}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _decode(item) if item else None

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**params)
        except Exception as exc:
            if aws_error_code(exc) == _CONDITION_FAILED:
                item = getattr(exc, "response", {}).get("Item")
                raise _ConditionFailed(item if isinstance(item, dict) and item else None) from None
            mapped = aws_error(exc, f"dynamodb {operation} on {self.table_name}")
            if mapped is not None:
                raise mapped from exc
            raise
        return response


class _ConditionFailed(Exception):
    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item
