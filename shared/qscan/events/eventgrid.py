"""Azure Event Grid `Microsoft.Resources.ResourceWriteSuccess` events for container resources.

Both delivery schemas are accepted: the Event Grid schema (`eventType`, `subject`, `id`, `data`) and the
CloudEvents 1.0 schema (`specversion`, `type`, `source`, `subject`, `id`, `data`). A single event or an array
of events (what a webhook receives) is accepted; a Storage Queue message holds one event.

Resource events carry no container list, so every target needs lookup `azure_resource` (the handler reads the
images through ARM). The subscription id goes to `account`; the region is not in the event and stays None.
Other event types (failures, cancellations, the subscription validation handshake) and other resource types
are `UnsupportedEvent`. `data.claims` and `data.httpRequest` hold caller identity: they are never read.
"""

from __future__ import annotations

from typing import Any

from qscan.events._util import (
    EVENTGRID_MAX_EVENTS,
    check_event_id,
    fail,
    json_type,
    obj,
    opt_str,
    show,
    unsupported,
)
from qscan.events.arm import RESOURCE_WRITE_SUCCESS, parse_resource_id, write_operation_type
from qscan.events.batch import combine, record_id, run
from qscan.target import ScanTarget


def normalize_eventgrid(event: Any) -> list[ScanTarget]:
    """One Event Grid event, or an array of them (strictly, as `qscan.events.batch.combine` documents)."""
    if isinstance(event, list):
        if not event:
            raise unsupported("empty Event Grid event array")
        if len(event) > EVENTGRID_MAX_EVENTS:
            fail(f"Event Grid array has more than {EVENTGRID_MAX_EVENTS} events")
        items = [run(i, record_id(e, "id"), normalize_eventgrid_event, e) for i, e in enumerate(event)]
        return combine(items, "Event Grid")
    return normalize_eventgrid_event(event)


def normalize_eventgrid_event(event: Any) -> list[ScanTarget]:
    data = obj(event, "Event Grid event")
    if "specversion" in data:
        if data.get("specversion") != "1.0":
            fail(f"unsupported CloudEvents specversion {show(data.get('specversion'))}")
        event_type = opt_str(data, "type", "CloudEvent type")
    else:
        event_type = opt_str(data, "eventType", "Event Grid eventType")
    if event_type != RESOURCE_WRITE_SUCCESS:
        raise unsupported(f"Event Grid event type {show(event_type)} is not {RESOURCE_WRITE_SUCCESS}")
    event_id = check_event_id(opt_str(data, "id", "Event Grid event id"), "Event Grid event id")
    payload = data.get("data")
    if not isinstance(payload, dict):
        fail(f"Event Grid event data must be an object, not {json_type(payload)}")
    operation_type = write_operation_type(opt_str(payload, "operationName", "data.operationName"))
    status = opt_str(payload, "status", "data.status")
    if status is not None and status.lower() != "succeeded":
        raise unsupported(f"Azure write did not succeed (status {show(status)})")
    uri = opt_str(payload, "resourceUri", "data.resourceUri")
    if uri is None:
        uri = opt_str(data, "subject", "Event Grid subject")
    if uri is None:
        fail("Event Grid event has neither data.resourceUri nor subject")
    resource = parse_resource_id(uri, "Event Grid resource id", operation_type)
    subscription = opt_str(payload, "subscriptionId", "data.subscriptionId")
    if subscription is not None and subscription.lower() != resource.subscription_id:
        fail("data.subscriptionId does not match the resource id")
    return [
        ScanTarget(
            kind="image",
            platform=resource.platform,
            account=resource.subscription_id,
            resource_id=resource.resource_id,
            event_id=event_id,
            lookup="azure_resource",
        )
    ]
