"""The dedupe store contract (DESIGN §3 step 2) and the semantics every backend shares.

One record per target key (`ScanTarget.dedupe_key`). A record is either

* a **claim** (`state="claimed"`): `owner` is scanning the target; the claim is live until `expires_at`
  (the lease: scan timeout + margin). A crashed scan therefore never leaves the key stuck: once the lease has
  passed, the next `claim` takes the key over, conditional on the stale record still being the one it read
  (race-free: of several takers exactly one wins);
* a **completion** (`state="complete"`): the scan finished with a complete status (`COMPLETE_STATUSES`); the
  record keeps status, severity counts and the result location until `expires_at` (the cache TTL). Until then
  a `claim` is a cache hit.

A record whose `expires_at` has passed is treated as absent everywhere, whether or not the backend has removed
it yet (DynamoDB TTL deletes lazily; Azure Table has no TTL at all).

Outcomes of `claim(key, owner, lease_seconds)`:

* `won`: the caller holds the key and must scan, then call `complete` (complete status) or `release`
  (partial/failed/timeout, or any error) so a retry can scan again at once. Claiming again with the same
  owner while the own claim is live wins again and renews the lease (an idempotent redelivery).
* `claimed`: another owner holds a live lease: skip, counted as deduplicated.
* `cached`: the target was scanned completely within the cache TTL: skip, with the stored status, counts and
  result location.

A lost race is never an exception: it is the `claimed` (or `cached`) outcome. Throttling, timeouts and 5xx
raise `TransientError`; a missing table or missing permission raises `ConfigError`.

Times are epoch seconds from an injectable clock (`Clock`); `expires_at` is a whole number of seconds
(rounded up), which is what the DynamoDB TTL attribute requires.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from qscan.errors import InvalidEvent
from qscan.results.model import COMPLETE_STATUSES, SeverityCounts
from qscan.structs import fields, struct

Clock = Callable[[], float]
State = Literal["claimed", "complete"]
Outcome = Literal["won", "claimed", "cached"]

STATES: tuple[str, ...] = ("claimed", "complete")
MAX_KEY_BYTES = 1024  # DynamoDB allows 2048 bytes for a partition key; keys are bounded by compute_dedupe_key
MAX_OWNER_CHARS = 256
MAX_LOCATION_CHARS = 2048
MAX_LEASE_SECONDS = 7 * 24 * 3600
MAX_CACHE_TTL_SECONDS = 366 * 24 * 3600
# How often a claim re-reads and retries when the record changed between its read and its conditional write.
# Every retry means another writer made progress, so a small bound suffices; beyond it the call is transient.
MAX_ATTEMPTS = 8


def system_clock() -> float:
    return time.time()


@struct
class DedupeRecord:
    """One stored record, as every backend returns it."""

    key: str
    state: State
    owner: str
    expires_at: int
    claimed_at: float
    completed_at: float | None = None
    status: str | None = None
    counts: SeverityCounts | None = None
    result_location: str | None = None

    def live(self, now: float) -> bool:
        """False once `expires_at` has passed: such a record counts as absent."""
        return self.expires_at > now

    def outcome_for(self, owner: str) -> Outcome:
        """What a live record means for a claimant (`won` only for the owner of a live claim)."""
        if self.state == "complete":
            return "cached"
        return "won" if self.owner == owner else "claimed"


@struct
class Claim:
    """The outcome of `DedupeStore.claim`, with the record it is based on."""

    outcome: Outcome
    record: DedupeRecord

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def won(self) -> bool:
        return self.outcome == "won"

    @property
    def cached(self) -> bool:
        return self.outcome == "cached"

    @property
    def status(self) -> str | None:
        return self.record.status

    @property
    def counts(self) -> SeverityCounts | None:
        return self.record.counts

    @property
    def result_location(self) -> str | None:
        return self.record.result_location


@runtime_checkable
class DedupeStore(Protocol):
    """Claim / release / complete / lookup with the semantics of this module's docstring."""

    def claim(self, key: str, owner: str, lease_seconds: float) -> Claim:
        """Claim `key` for `owner` for `lease_seconds`; see the module docstring for the outcomes."""
        ...

    def release(self, key: str, owner: str) -> bool:
        """Drop `owner`'s claim so the key can be claimed again at once.

        Returns False (and changes nothing) when `owner` does not hold the claim: it was taken over after
        the lease expired, or already completed or released.
        """
        ...

    def complete(  # noqa: PLR0917 - the contract is positional (DESIGN §3 step 2)
        self,
        key: str,
        owner: str,
        status: str,
        counts: SeverityCounts,
        result_location: str | None,
        cache_ttl_seconds: float,
    ) -> bool:
        """Turn `owner`'s claim into a completion kept for `cache_ttl_seconds`.

        Only complete statuses may be cached (`ValueError` otherwise: a partial or failed scan must
        `release`). Returns False (and changes nothing) when `owner` no longer holds the claim.
        """
        ...

    def lookup(self, key: str) -> DedupeRecord | None:
        """The live record of `key`, or None (absent or expired)."""
        ...


# ---------------------------------------------------------------- shared validation and helpers


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidEvent("dedupe key must be a non-empty string")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidEvent(f"dedupe key is longer than {MAX_KEY_BYTES} bytes")
    return key


def check_owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner or len(owner) > MAX_OWNER_CHARS:
        raise ValueError(f"dedupe owner must be a non-empty string of at most {MAX_OWNER_CHARS} characters")
    return owner


def check_seconds(name: str, value: float, maximum: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of seconds")
    if not 0 < value <= maximum:
        raise ValueError(f"{name} must be > 0 and <= {maximum}")
    return float(value)


def check_completion(status: str, result_location: str | None) -> None:
    if status not in COMPLETE_STATUSES:
        raise ValueError(
            f"only complete statuses {sorted(COMPLETE_STATUSES)} may be cached; release the claim instead"
        )
    if result_location is not None and (
        not isinstance(result_location, str) or len(result_location) > MAX_LOCATION_CHARS
    ):
        raise ValueError(f"result_location must be a string of at most {MAX_LOCATION_CHARS} characters")


def expiry(now: float, seconds: float) -> int:
    """Whole epoch seconds at which a lease or cache entry ends (rounded up, never early)."""
    return math.ceil(now + seconds)


def counts_from_dict(data: dict[str, int]) -> SeverityCounts:
    return SeverityCounts(**{f.name: int(data.get(f.name, 0)) for f in fields(SeverityCounts)})
