"""modules/aci-aca's two hostings read from its HCL: exactly one Function App exists for either value of
`hosting`, everything that names the app goes through one local, the Elastic Premium app kept its state address
(`moved`), the Flex Consumption app reads its package with the app's identity and deploys it outside Terraform,
/tmp-bound settings follow the hosting, and no setting needs a Key Vault reference identity."""

from __future__ import annotations

import re

from scripts.hcl import load_hcl
from tests.unit.test_aci_aca_module import MODULE, module_locals, resources

IDENTITY = "${azurerm_user_assigned_identity.this.id}"


def test_exactly_one_app_per_hosting() -> None:
    found = resources()
    assert found["azurerm_linux_function_app"]["this"]["count"] == "${local.flex ? 0 : 1}"
    assert found["azurerm_function_app_flex_consumption"]["this"]["count"] == "${local.flex ? 1 : 0}"
    assert found["azurerm_storage_container"]["deployment"]["count"] == "${local.flex ? 1 : 0}"
    assert module_locals()["flex"] == '${var.hosting == "flex_consumption"}'
    plan = found["azurerm_service_plan"]["this"]
    assert plan["sku_name"] == '${local.flex ? "FC1" : var.plan_sku}'


def test_the_elastic_premium_app_keeps_its_state_address() -> None:
    moved = [block for path in MODULE.glob("*.tf") for block in load_hcl(path).get("moved", [])]
    assert {
        "from": "${azurerm_linux_function_app.this}",
        "to": "${azurerm_linux_function_app.this[0]}",
    } in moved


def test_only_the_app_locals_name_either_app() -> None:
    """Outputs, alerts and RBAC name the app through local.function_app_id / _name, never one hosting's resource."""
    pattern = re.compile(r"azurerm_(linux_function_app|function_app_flex_consumption)\.this\b")
    for path in sorted(MODULE.glob("*.tf")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and path.name != "function.tf":
                raise AssertionError(
                    f"{path.name}:{number} names one hosting's app: use local.function_app_*"
                )
    locals_ = module_locals()
    assert locals_["function_app_id"] == (
        "${local.flex ? azurerm_function_app_flex_consumption.this[0].id : azurerm_linux_function_app.this[0].id}"
    )
    outputs = {
        name: body for block in load_hcl(MODULE / "outputs.tf")["output"] for name, body in block.items()
    }
    assert outputs["function_app_id"]["value"] == "${local.function_app_id}"
    assert outputs["function_app_name"]["value"] == "${local.function_app_name}"


def test_the_flex_app_reads_its_package_with_the_app_identity_and_is_deployed_outside_terraform() -> None:
    app = resources()["azurerm_function_app_flex_consumption"]["this"]
    assert app["storage_authentication_type"] == "UserAssignedIdentity"
    assert app["storage_user_assigned_identity_id"] == IDENTITY
    assert app["storage_container_type"] == "blobContainer"
    assert "azurerm_storage_container.deployment[0].name" in app["storage_container_endpoint"]
    assert (
        "zip_deploy_file" not in app
    )  # broken in azurerm (provider issue 29630): flex_deploy_command instead
    assert (app["runtime_name"], app["runtime_version"]) == ("python", "${var.python_version}")
    assert app["identity"] == [{"type": "UserAssigned", "identity_ids": [IDENTITY]}]
    assert app["app_settings"] == "${local.app_settings}"
    assert app["webdeploy_publish_basic_authentication_enabled"] is False
    assert set(app["depends_on"]) == set(resources()["azurerm_linux_function_app"]["this"]["depends_on"])


def test_settings_follow_the_hosting() -> None:
    locals_ = module_locals()
    hosting = locals_["hosting_settings"]
    flex, premium = hosting.split("} : {")
    assert "WEBSITE_RUN_FROM_PACKAGE" in premium and "WEBSITE_RUN_FROM_PACKAGE" not in flex  # Flex rejects it
    assert "AzureWebJobsStorage__accountName" in flex  # the EP app has storage_account_name for it
    assert "QSCAN_SCANNER_CACHE_MAX_MB" in flex
    # Flex has 0.8 GB of /tmp: the qscanner cache must leave most of it to the image being pulled.
    assert 0 < int(locals_["flex_cache_max_mb"]) <= 800 // 4
    assert "local.hosting_settings" in locals_["app_settings"]


def test_no_setting_is_a_key_vault_reference() -> None:
    """Flex Consumption has no Key Vault reference identity: the app reads its secrets through the SDK with its
    identity (QSCAN_QUALYS_SECRET_URI is a plain URI), so no setting may be a @Microsoft.KeyVault reference."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in MODULE.glob("*.tf"))
    assert "@Microsoft.KeyVault" not in text
    function = (MODULE / "function.tf").read_text(encoding="utf-8")
    assert re.search(r"QSCAN_QUALYS_SECRET_URI\s*=\s*local\.qualys_secret_uri\n", function)
