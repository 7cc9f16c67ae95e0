"""Azure Resource Manager (ARM) resource ids and the container resources qscan scans (ACI container groups, ACA apps and jobs).

Resource ids arrive in mixed case (Event Grid) or upper case (Activity Log). Normalization is careful:
- the fixed keywords become `subscriptions`, `resourceGroups`, `providers`;
- the provider namespace and type become their canonical spelling (`Microsoft.ContainerInstance/containerGroups`);
- the subscription GUID is lower-cased;
- the resource name is lower-cased: ACI, ACA app and ACA job names are lower-case by Azure's naming rules;
- the resource group name is kept as written: ARM treats it case-insensitively but preserves its case, so
  lower-casing would change what operators see while gaining nothing for the lookup.
"""

from __future__ import annotations

import re

from qscan.events._util import SUBSCRIPTION_RE, fail, show, unsupported
from qscan.structs import struct
from qscan.target import Platform

RESOURCE_WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"

# lower-case "namespace/type" -> (canonical "namespace/type", platform)
RESOURCE_TYPES: dict[str, tuple[str, Platform]] = {
    "microsoft.containerinstance/containergroups": ("Microsoft.ContainerInstance/containerGroups", "aci"),
    "microsoft.app/containerapps": ("Microsoft.App/containerApps", "aca"),
    "microsoft.app/jobs": ("Microsoft.App/jobs", "aca"),
}
WRITE_OPERATIONS = {f"{key}/write": key for key in RESOURCE_TYPES}

_RESOURCE_GROUP_RE = re.compile(r"[A-Za-z0-9._()-]{0,89}[A-Za-z0-9_()-]")
_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
MAX_RESOURCE_ID = 1024


@struct
class AzureResource:
    subscription_id: str
    resource_group: str
    resource_type: str  # canonical namespace/type
    name: str
    platform: Platform

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.resource_type}/{self.name}"
        )


def write_operation_type(operation: str | None) -> str:
    """The lower-case resource type of a supported write operation, or UnsupportedEvent."""
    if operation is None:
        raise unsupported("Azure event carries no operationName")
    key = WRITE_OPERATIONS.get(operation.lower())
    if key is None:
        raise unsupported(f"Azure operation {show(operation)} is not a container deployment")
    return key


def parse_resource_id(value: str, what: str, expected_type: str | None = None) -> AzureResource:
    """Parse and normalize the id of a supported container resource (other types: UnsupportedEvent).

    With `expected_type` (the lower-case type a write operation names), any other type is InvalidEvent:
    the event contradicts itself."""
    if len(value) > MAX_RESOURCE_ID:
        fail(f"{what} is longer than {MAX_RESOURCE_ID} characters")
    parts = value.split("/")
    if len(parts) < 2 or parts[0] != "" or parts[1].lower() != "subscriptions":
        fail(f"{what} is not an Azure resource id")
    if len(parts) != 9:
        if expected_type is not None and len(parts) > 7:
            fail(f"{what} is not the resource its operationName names")
        if len(parts) > 7 and parts[3].lower() == "resourcegroups" and parts[5].lower() == "providers":
            raise unsupported(f"{what} is not an ACI container group or ACA app/job")
        fail(f"{what} is not a resource id of the form /subscriptions/../resourceGroups/../providers/..")
    _, _, sub, keyword_rg, group, keyword_providers, namespace, rtype, name = parts
    if keyword_rg.lower() != "resourcegroups" or keyword_providers.lower() != "providers":
        fail(f"{what} is not a resource id of the form /subscriptions/../resourceGroups/../providers/..")
    sub = sub.lower()
    if not re.fullmatch(SUBSCRIPTION_RE, sub):
        fail(f"{what} has a malformed subscription id")
    if not _RESOURCE_GROUP_RE.fullmatch(group):
        fail(f"{what} has a malformed resource group name")
    key = f"{namespace}/{rtype}".lower()
    if expected_type is not None and key != expected_type:
        fail(f"{what} does not match the resource type its operationName names")
    known = RESOURCE_TYPES.get(key)
    if known is None:
        raise unsupported(f"{what} is a {show(namespace + '/' + rtype)}, not a container resource")
    name = name.lower()
    if not _NAME_RE.fullmatch(name):
        fail(f"{what} has a malformed resource name")
    canonical, platform = known
    return AzureResource(
        subscription_id=sub, resource_group=group, resource_type=canonical, name=name, platform=platform
    )
