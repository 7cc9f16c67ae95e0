"""Which scan attempt of one queued message this is, and whether it is the last one (DESIGN §3 Errors).

A queue-fed handler scans a message up to `of` times (the queue's maxReceiveCount) before it is dead-lettered.
The pipeline needs to know where an attempt stands: a failed scan notifies only at its final attempt (one
alert per failed artifact, not one per attempt), and a deterministic failure ends early when the caller can
dead-letter it at once (`fail_fast`).
"""

from __future__ import annotations

from qscan.structs import struct


@struct
class Attempt:
    """Where one scan attempt of a queued message stands (see the module docstring)."""

    number: int  # 1-based: the scan attempts of this message so far, this one included
    of: int  # attempts allowed before the message is dead-lettered
    fail_fast: bool = False  # the caller dead-letters a deterministic failure at once (no retries)

    def __post_init__(self) -> None:
        if self.number < 1 or self.of < 1:
            raise ValueError("attempt numbers start at 1")

    @property
    def last(self) -> bool:
        """True when no retry follows a failure of this attempt."""
        return self.number >= self.of

    def describe(self) -> str:
        return f"attempt {self.number} of {self.of}"
