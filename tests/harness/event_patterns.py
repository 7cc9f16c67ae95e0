"""EventBridge patterns as Terraform plans them, matched with moto's in-process EventPattern.

moto's `TestEventPattern` API is a stub; `moto.events.models.EventPattern` is the matcher moto routes PutEvents
with (EventBridge semantics). The pattern tests plan a root on the moto server, read each rule's
`event_pattern` from `terraform show -json` and match sample events (tests/fixtures/events and variations).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from tests.harness import moto_server as ms
from tests.harness import tf_env

EVENTS = ms.REPO_ROOT / "tests" / "fixtures" / "events"


def fixture(name: str) -> dict[str, Any]:
    """A sample event from tests/fixtures/events/<name>.json (a fresh copy each call)."""
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def put_fixture(events: Any, name: str) -> str:
    """Put the sample event `name` on the default bus (source, detail-type and detail, as a CloudTrail or
    service event arrives); returns its event id."""
    event = fixture(name)
    response = events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0, response
    return str(response["Entries"][0]["EventId"])


def matches(pattern: EventPattern, event: dict[str, Any]) -> bool:
    """Whether EventBridge would route `event` through a rule with `pattern` (the event is not modified)."""
    return bool(pattern.matches_event(copy.deepcopy(event)))  # type: ignore[arg-type]  # a full event dict


def planned_rule_patterns(root: Path, plan_file: str, *args: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Plan `root` (already initialized) into `plan_file`; the event patterns of every planned
    aws_cloudwatch_event_rule by address, and the whole `terraform show -json` document."""
    tf_env.checked(
        tf_env.terraform(root, "plan", "-input=false", f"-out={plan_file}", *args),
        f"terraform plan ({plan_file})",
    )
    shown: dict[str, Any] = json.loads(
        tf_env.checked(tf_env.terraform(root, "show", "-json", plan_file), "terraform show")
    )
    rules = {
        change["address"]: change["change"]["after"]["event_pattern"]
        for change in shown["resource_changes"]
        if change["type"] == "aws_cloudwatch_event_rule" and change["change"]["after"].get("event_pattern")
    }
    return rules, shown
