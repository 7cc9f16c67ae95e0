"""Dedupe store (DESIGN §3 step 2): claim a target key once, with a lease, a release and a result cache.

The contract and shared semantics are in `qscan.dedupe.base`; backends: `qscan.dedupe.dynamodb`
(DynamoDB) and `qscan.dedupe.azure_table` (Azure Table Storage). Backends import their SDK lazily.
"""

from qscan.dedupe.base import Claim, Clock, DedupeRecord, DedupeStore, Outcome, system_clock

__all__ = ["Claim", "Clock", "DedupeRecord", "DedupeStore", "Outcome", "system_clock"]
