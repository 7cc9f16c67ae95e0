"""A small evaluator of the Event Grid event-subscription filters modules/aci-aca uses.

Semantics (Event Grid "event filtering" documentation): an event passes when its `eventType` is one of the
included event types (when any are set) and every advanced filter passes (filters are ANDed; the values of one
filter are ORed). String comparisons are not case-sensitive. `string_in`: the key's value equals one of the
values; `string_not_begins_with`: the key's value begins with none of the values. Keys are dotted paths into
the event (`subject`, `data.operationName`). A key missing from the event passes only the negated operator.
Only the operators the module uses are implemented; another one raises, so the evaluator never guesses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SUPPORTED_OPERATORS = frozenset({"string_in", "string_not_begins_with"})
MAX_FILTER_VALUES = 25  # Event Grid: advanced-filter values per event subscription, over all filters


@dataclass(frozen=True)
class AdvancedFilter:
    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Subscription:
    included_event_types: tuple[str, ...]
    advanced_filters: tuple[AdvancedFilter, ...]

    @property
    def value_count(self) -> int:
        return sum(len(f.values) for f in self.advanced_filters)


def lookup(event: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted key, or None when any part is missing."""
    current: Any = event
    for part in key.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def filter_passes(event: Mapping[str, Any], advanced: AdvancedFilter) -> bool:
    if advanced.operator not in SUPPORTED_OPERATORS:
        raise ValueError(f"operator {advanced.operator} is not implemented by this evaluator")
    value = lookup(event, advanced.key)
    if not isinstance(value, str):
        return advanced.operator == "string_not_begins_with"
    folded = value.casefold()
    candidates = [v.casefold() for v in advanced.values]
    if advanced.operator == "string_in":
        return folded in candidates
    return not any(folded.startswith(c) for c in candidates)


def delivers(subscription: Subscription, event: Mapping[str, Any]) -> bool:
    """True when Event Grid would deliver the event to the subscription's endpoint."""
    event_type = event.get("eventType")
    if subscription.included_event_types:
        types = [t.casefold() for t in subscription.included_event_types]
        if not isinstance(event_type, str) or event_type.casefold() not in types:
            return False
    return all(filter_passes(event, f) for f in subscription.advanced_filters)


def subscription_from_hcl(body: Mapping[str, Any], resolve: Callable[[Any], Any]) -> Subscription:
    """Build a Subscription from an event-subscription resource body (python-hcl2 classic shape).

    `resolve` turns a raw attribute value into its evaluated value (tests.harness.hcl_eval.Evaluator.value).
    """
    filters: list[AdvancedFilter] = []
    for block in body.get("advanced_filter", []) or []:
        for operator, entries in block.items():
            for entry in entries:
                values = resolve(entry["values"])
                if not isinstance(values, Sequence) or isinstance(values, str):
                    raise ValueError(f"{operator} values are not a list: {values!r}")
                filters.append(
                    AdvancedFilter(operator, str(resolve(entry["key"])), tuple(str(v) for v in values))
                )
    types = resolve(body.get("included_event_types", []))
    return Subscription(tuple(str(t) for t in types), tuple(filters))
