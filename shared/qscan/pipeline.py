"""Steps 2-5 of DESIGN §3 for one resolved ScanTarget: claim, scan, persist, notify, complete or release.

Every queue-fed handler calls `Pipeline.process` once per target, after normalizing the trigger (step 1) and
resolving any lookup the target names. A workflow that runs the steps as separate tasks (the Fargate Step
Functions workflow) calls the same parts: `claim`, the scanner, `record` (persist, notify, complete or release)
and `release`. The order is chosen so that nothing is lost:

1. claim the target's dedupe key for `owner`. Handlers pass an owner that is stable across redeliveries of the
   same message (the SQS message id, the queue message id), so a redelivery after a crash wins its own live
   claim again and rescans, while a concurrent duplicate from another message sees `claimed` and skips;
2. scan;
3. persist the result (the location goes into the result and the store record), every attempt's included;
4. notify (findings at or above the threshold; a failure only at its final attempt, see below);
5. complete the claim (complete statuses, kept for the cache TTL) or release it (anything else). With a cache
   TTL of 0 ("no cache", QSCAN_CACHE_TTL_SECONDS=0) a complete scan releases its claim too: the claim still
   keeps concurrent duplicates from scanning while it runs, but nothing is cached, so the next event for the
   artifact scans again (the stores refuse to keep a completion for 0 seconds).

A failure anywhere after the claim releases it, so the platform's retry scans again at once. An incomplete
scan (failed, timeout, partial) is persisted, then raised as `ScanFailed` (a `TransientError`): the message
is redelivered and finally dead-lettered, never recorded as clean.

Failures notify once per failed artifact, not once per attempt. `attempt` (a queue handler passes it; None
means every attempt is final, as for a one-off scan) says where the scan stands: an incomplete scan notifies
only when no retry follows, i.e. at the last attempt, or at once when the failure is deterministic
(`qscan.scanners.exit_codes.deterministic_failure`: invalid parameter, artifact not found or unsupported) and
the caller dead-letters such failures immediately (`attempt.fail_fast`). `ScanFailed.final` tells the caller
which case it is. The notification carries the attempts and the last reason, and a notification id stable for
the artifact, outcome and owner (`qscan.notify.message.notification_id`). Publishing happens before
completing, so a failed publish is retried too: alerts are at-least-once, and their id lets subscribers drop
the duplicates.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Literal

from qscan.attempts import Attempt
from qscan.dedupe.base import Claim, DedupeStore
from qscan.errors import TransientError
from qscan.notify import Publisher, Threshold, notify
from qscan.results.model import ScanResult
from qscan.results.store import ResultStore
from qscan.scanners import Scanner
from qscan.scanners.exit_codes import deterministic_failure
from qscan.structs import field, struct
from qscan.target import ScanTarget

log = logging.getLogger(__name__)

Disposition = Literal["scanned", "deduplicated", "cached"]


class ScanFailed(TransientError):
    """The scan ran but its findings are unknown (failed, timeout, partial): retry, then dead-letter.

    `deterministic`: a retry cannot change the outcome; `final`: no retry follows (the last attempt, or a
    deterministic failure the caller dead-letters at once), so the failure was notified (`notified`).
    """

    def __init__(
        self, result: ScanResult, *, final: bool = True, deterministic: bool = False, notified: bool = False
    ) -> None:
        super().__init__(f"scan {result.scan_id} ended {result.status}: {result.reason or 'no reason given'}")
        self.result = result
        self.final = final
        self.deterministic = deterministic
        self.notified = notified


@struct
class Outcome:
    """What the pipeline did with one target, and the result when it scanned."""

    target: ScanTarget
    disposition: Disposition
    result: ScanResult | None = None  # set when scanned
    notified: bool = False
    cached_status: str | None = None  # the stored status of a cache hit


@struct(frozen=False)
class Accounting:
    """Per-batch tally: events in = scanned + deduplicated + cached + skipped + failed + dead_lettered.

    `failed`: left for the platform's retry (redelivered, after the last attempt dead-lettered by the queue);
    `dead_lettered`: moved to the dead-letter queue by the handler itself (final attempt, or a deterministic
    failure that is not retried). `accounts` (hub-spoke) splits the events by the account they came from:
    account -> {"events": n, <bucket>: n, ...}, each account's buckets adding up to its events (`tally`);
    events of no known account (an unreadable body) are in the totals only.
    """

    events: int = 0
    targets: int = 0
    scanned: int = 0
    deduplicated: int = 0
    cached: int = 0
    failed: int = 0
    dead_lettered: int = 0
    notified: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    accounts: dict[str, Counter[str]] = field(default_factory=dict)

    def record(self, outcome: Outcome) -> None:
        if outcome.disposition == "scanned":
            self.scanned += 1
        elif outcome.disposition == "cached":
            self.cached += 1
        else:
            self.deduplicated += 1
        self.notified += int(outcome.notified)
        if outcome.result is not None:
            self.findings.update(outcome.result.counts.to_dict())

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def tally(self, account: str | None, bucket: str) -> None:
        """One event of `account` ended in `bucket` (`scanned`, `skipped`, ...); no-op without an account."""
        if account is not None:
            counts = self.accounts.setdefault(account, Counter())
            counts["events"] += 1
            counts[bucket] += 1

    def to_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "targets": self.targets,
            "scanned": self.scanned,
            "deduplicated": self.deduplicated,
            "cached": self.cached,
            "failed": self.failed,
            "dead_lettered": self.dead_lettered,
            "notified": self.notified,
            "skipped": dict(self.skipped),
            "findings": dict(self.findings),
            "accounts": {account: dict(counts) for account, counts in sorted(self.accounts.items())},
        }


@struct
class Pipeline:
    """Claim -> scan -> persist -> notify -> complete for one target at a time (see the module docstring)."""

    store: DedupeStore
    scanner: Scanner
    results: ResultStore
    publisher: Publisher
    threshold: Threshold
    lease_seconds: float
    cache_ttl_seconds: float  # 0: no cache (a complete scan releases its claim)

    def process(self, target: ScanTarget, owner: str, attempt: Attempt | None = None) -> Outcome:
        """Run steps 2-5 for a resolved target; raises TransientError (incl. ScanFailed) to be retried.

        `attempt`: where this scan stands among its message's attempts (None: every failure is final).
        """
        held = self.claim(target, owner)
        if isinstance(held, Outcome):
            return held
        try:
            result = self.scanner.scan(target)
        except BaseException:
            self.release(held.key, owner)
            raise
        return self.record(target, owner, result, attempt)

    def claim(self, target: ScanTarget, owner: str) -> Claim | Outcome:
        """Step 2: the won `Claim`, or the `Outcome` (cached / deduplicated) when another holds the key."""
        if target.lookup is not None or target.dedupe_key is None:
            raise ValueError(f"target needs lookup {target.lookup!r} before it can be scanned")
        key = target.dedupe_key
        claim = self.store.claim(key, owner, self.lease_seconds)
        if claim.won:
            return claim
        log.info("dedupe %s: %s", claim.outcome, key, extra={"dedupe_key": key, "outcome": claim.outcome})
        if claim.cached:
            return Outcome(target, "cached", cached_status=claim.status)
        return Outcome(target, "deduplicated")

    def record(
        self,
        target: ScanTarget,
        owner: str,
        result: ScanResult,
        attempt: Attempt | None = None,
        *,
        notify_failure: bool = True,
    ) -> Outcome:
        """Steps 4-5 for the result of a scan whose claim `owner` holds: persist, notify, complete or release.

        An incomplete result is persisted, then raised as `ScanFailed` (the claim released). With
        `notify_failure=False` the caller sends the failure notification itself, once, after its own retries
        (the Fargate workflow's failure path): an incomplete result then never notifies here.
        """
        key = target.dedupe_key
        if key is None:
            raise ValueError("a recorded target needs its dedupe key")
        try:
            result.result_location = self.results.put_result(result)
            deterministic = not result.complete and deterministic_failure(result.exit_code)
            final = attempt is None or attempt.last or (deterministic and attempt.fail_fast)
            published = notify(
                result,
                self.threshold,
                self.publisher,
                attempt=attempt,
                final_attempt=final and notify_failure,
                occurrence=owner,
                retryable=None if result.complete else not deterministic,
            )
            if not result.complete:
                notified = published.notification is not None
                raise ScanFailed(result, final=final, deterministic=deterministic, notified=notified)
            if self.cache_ttl_seconds > 0:
                self.store.complete(
                    key, owner, result.status, result.counts, result.result_location, self.cache_ttl_seconds
                )
        except BaseException:
            self.release(key, owner)
            raise
        if self.cache_ttl_seconds <= 0:  # no cache: the next event for this artifact scans again
            self.release(key, owner)
        log.info(
            "scanned %s: %s",
            key,
            result.status,
            extra={"dedupe_key": key, "status": result.status, "counts": result.counts.to_dict()},
        )
        return Outcome(target, "scanned", result, notified=published.notification is not None)

    def release(self, key: str, owner: str) -> None:
        """Best effort: a release that fails leaves the claim to expire with its lease, never stuck."""
        try:
            self.store.release(key, owner)
        except Exception:
            log.warning("could not release %s; it frees itself when the lease expires", key, exc_info=True)
