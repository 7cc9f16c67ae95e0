"""The azurerm schema extractor (on a tiny jsii-like assembly) and the azurerm HCL validator."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from scripts import check_azurerm, extract_azurerm_schema
from scripts.check_azurerm import Finding, check_paths, load_schema
from scripts.extract_azurerm_schema import SchemaError, extract_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
NS = "@cdktf/provider-azurerm"
REGISTRY = "https://registry.terraform.io/providers/hashicorp/azurerm/9.9.9/docs"


# ------------------------------------------------------------------------------------- jsii-like fixture


def prop(
    name: str, hcl: str | None, type_: dict[str, Any], *, optional: bool = True, block: bool = False
) -> dict:
    docs: dict[str, str] = {"stability": "stable"}
    link = f"{{@link {REGISTRY}/resources/thing#{hcl} Thing#{hcl}}}" if hcl else ""
    if block:
        docs.update(summary=f"{hcl} block.", remarks=f"Docs at Terraform Registry: {link}")
    else:
        docs["summary"] = f"Docs at Terraform Registry: {link}." if hcl else "No link here."
    out: dict[str, Any] = {"name": name, "docs": docs, "type": type_}
    if optional:
        out["optional"] = True
    return out


STRING = {"primitive": "string"}
BOOL = {"union": {"types": [{"primitive": "boolean"}, {"fqn": "cdktf.IResolvable"}]}}


def struct(fqn: str, *props: dict[str, Any], interfaces: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"fqn": fqn, "kind": "interface", "datatype": True, "properties": list(props)}
    if interfaces:
        out["interfaces"] = interfaces
    return out


def list_of(fqn: str) -> dict[str, Any]:
    return {
        "union": {
            "types": [
                {"fqn": "cdktf.IResolvable"},
                {"collection": {"kind": "array", "elementtype": {"fqn": fqn}}},
            ]
        }
    }


def construct(fqn: str, base: str, link: str, config: str) -> dict[str, Any]:
    return {
        "fqn": fqn,
        "kind": "class",
        "base": base,
        "docs": {"summary": f"Represents a {{@link {link}}}."},
        "initializer": {
            "parameters": [
                {"name": "scope", "type": {"fqn": "constructs.Construct"}},
                {"name": "id", "type": {"primitive": "string"}},
                {"name": "config", "type": {"fqn": config}},
            ]
        },
    }


def tiny_assembly() -> dict[str, Any]:
    t = f"{NS}.thing"
    types = {
        f"{t}.Thing": construct(
            f"{t}.Thing",
            "cdktf.TerraformResource",
            f"{REGISTRY}/resources/thing azurerm_thing",
            f"{t}.ThingConfig",
        ),
        f"{t}.ThingConfig": struct(
            f"{t}.ThingConfig",
            prop("name", "name", STRING, optional=False),
            prop("use32BitWorker", "use_32_bit_worker", BOOL),
            prop("systemAttribute", "system", STRING),
            prop("nfsv3Enabled", None, BOOL),  # no link: falls back to snake_case
            prop("forEach", "for_each", STRING),  # a cdktf meta-argument: skipped at the top level
            prop("tags", "tags", {"collection": {"kind": "map", "elementtype": STRING}}),
            prop("siteConfig", "site_config", {"fqn": f"{t}.ThingSiteConfig"}, optional=False, block=True),
            prop("rule", "rule", list_of(f"{t}.ThingRule"), block=True),
            prop("ipRestriction", "ip_restriction", list_of(f"{t}.ThingRule")),  # attribute-mode list
            interfaces=["cdktf.TerraformMetaArguments"],
        ),
        f"{t}.ThingSiteConfig": struct(
            f"{t}.ThingSiteConfig",
            prop("alwaysOn", "always_on", BOOL),
            prop("stack", "stack", {"fqn": f"{t}.ThingSiteConfigStack"}, block=True),
        ),
        f"{t}.ThingSiteConfigStack": struct(
            f"{t}.ThingSiteConfigStack", prop("pythonVersion", "python_version", STRING, optional=False)
        ),
        f"{t}.ThingRule": struct(
            f"{t}.ThingRule",
            prop("forEach", "for_each", STRING),  # nested: a real attribute named like a meta-argument
            interfaces=[f"{t}.ThingRuleBase"],
        ),
        f"{t}.ThingRuleBase": struct(
            f"{t}.ThingRuleBase", prop("priority", "priority", {"primitive": "number"})
        ),
        f"{t}.ThingSiteConfigOutputReference": {"fqn": "x", "kind": "class", "base": "cdktf.ComplexObject"},
        f"{NS}.dataAzurermThing.DataAzurermThing": construct(
            f"{NS}.dataAzurermThing.DataAzurermThing",
            "cdktf.TerraformDataSource",
            f"{REGISTRY}/data-sources/thing azurerm_thing",
            f"{NS}.dataAzurermThing.DataAzurermThingConfig",
        ),
        f"{NS}.dataAzurermThing.DataAzurermThingConfig": struct(
            f"{NS}.dataAzurermThing.DataAzurermThingConfig", prop("name", "name", STRING, optional=False)
        ),
        f"{NS}.provider.AzurermProvider": construct(
            f"{NS}.provider.AzurermProvider",
            "cdktf.TerraformProvider",
            f"{REGISTRY} azurerm",
            f"{NS}.provider.Cfg",
        ),
        f"{NS}.provider.Cfg": struct(f"{NS}.provider.Cfg", prop("subscriptionId", "subscription_id", STRING)),
    }
    return {"schema": "jsii/0.10.0", "name": NS, "version": "1.2.3", "types": types}


def test_extract_schema_maps_arguments_blocks_and_names() -> None:
    schema = extract_schema(
        tiny_assembly(), readme="# bindings for hashicorp/azurerm provider version 9.9.9\n"
    )
    thing = schema["resources"]["azurerm_thing"]
    assert thing["a"] == {
        "name": 1,
        "use_32_bit_worker": 0,
        "system": 0,
        "nfsv3_enabled": 0,
        "tags": 0,
    }
    assert thing["b"] == {
        "site_config": {
            "a": {"always_on": 0},
            "b": {"stack": {"a": {"python_version": 1}, "m": 1}},
            "m": 1,
            "r": 1,
        },
        "rule": {"a": {"for_each": 0, "priority": 0}},
        "ip_restriction": {"a": {"for_each": 0, "priority": 0}, "x": 1},
    }
    assert schema["data_sources"] == {"azurerm_thing": {"a": {"name": 1}}}
    assert schema["provider"] == {"a": {"subscription_id": 0}}
    meta = schema["metadata"]
    assert (meta["package"], meta["package_version"]) == (NS, "1.2.3")
    assert (meta["provider_version"], meta["provider_version_readme"]) == ("9.9.9", "9.9.9")
    assert (meta["resource_count"], meta["data_source_count"]) == (1, 1)


def test_extract_schema_rejects_non_provider_assemblies() -> None:
    with pytest.raises(SchemaError, match="no types"):
        extract_schema({"types": {}})
    broken = tiny_assembly()
    broken["types"][f"{NS}.thing.Thing"]["initializer"]["parameters"].pop()
    with pytest.raises(SchemaError, match="no config parameter"):
        extract_schema(broken)
    unlinked = tiny_assembly()
    unlinked["types"][f"{NS}.thing.Thing"]["docs"]["summary"] = "Represents something."
    with pytest.raises(SchemaError, match="no Terraform type"):
        extract_schema(unlinked)


def test_output_is_deterministic_and_gzipped_when_large(tmp_path: Path) -> None:
    schema = extract_schema(tiny_assembly())
    out = tmp_path / "schema.json"
    assert extract_azurerm_schema.write_schema(schema, out, max_bytes=10_000_000) == out
    first = out.read_bytes()
    assert first == json.dumps(schema, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    assert json.loads(first) == schema
    gz = extract_azurerm_schema.write_schema(schema, out, max_bytes=10)
    assert gz == tmp_path / "schema.json.gz"
    assert not out.exists()
    packed = gz.read_bytes()
    assert gzip.decompress(packed) == first
    extract_azurerm_schema.write_schema(schema, out, max_bytes=10)
    assert gz.read_bytes() == packed  # byte-identical: fixed mtime, no file name
    assert load_schema(out)["resources"] == schema["resources"]  # the checker reads the .gz variant


def _tarball(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "pkg.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_read_package_follows_a_gzip_redirect(tmp_path: Path) -> None:
    assembly = tiny_assembly()
    redirect = {"schema": "jsii/file-redirect", "compression": "gzip", "filename": ".jsii.gz"}
    tarball = _tarball(
        tmp_path,
        {
            ".jsii": json.dumps(redirect).encode(),
            ".jsii.gz": gzip.compress(json.dumps(assembly).encode()),
            "README.md": b"# CDKTF prebuilt bindings for hashicorp/azurerm provider version 9.9.9\n",
        },
    )
    read, readme = extract_azurerm_schema.read_package(tarball)
    assert read == assembly
    assert "9.9.9" in readme
    with pytest.raises(SchemaError, match=r"no package/\.jsii"):
        extract_azurerm_schema.read_package(_tarball(tmp_path, {"README.md": b"x"}))


def test_main_writes_schema_from_a_tarball(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path, {".jsii": json.dumps(tiny_assembly()).encode()})
    out = tmp_path / "out.json"
    assert extract_azurerm_schema.main(["--tarball", str(tarball), "--output", str(out)]) == 0
    assert "azurerm_thing" in json.loads(out.read_bytes())["resources"]
    assert extract_azurerm_schema.main(["--version", "1.0; rm -rf /", "--output", str(out)]) == 1


# ------------------------------------------------------------------------------------ committed schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_schema()


def test_committed_schema_matches_known_azurerm_facts(schema: dict[str, Any]) -> None:
    meta = schema["metadata"]
    assert meta["provider_version"] == meta["provider_version_readme"] == "4.55.0"
    assert meta["package"] == NS
    res = schema["resources"]
    assert len(res) > 1000
    assert len(schema["data_sources"]) > 300
    sa = res["azurerm_storage_account"]
    required = {k for k, v in sa["a"].items() if v}
    assert required == {"name", "resource_group_name", "location", "account_tier", "account_replication_type"}
    assert sa["a"]["nfsv3_enabled"] == 0
    assert sa["a"]["tags"] == 0
    lfa = res["azurerm_linux_function_app"]
    assert lfa["b"]["site_config"]["r"] == 1
    assert lfa["b"]["site_config"]["m"] == 1
    assert "use_32_bit_worker" in lfa["b"]["site_config"]["a"]
    assert "application_stack" in lfa["b"]["site_config"]["b"]
    assert res["azurerm_container_app"]["b"]["template"]["b"]["container"]["r"] == 1
    assert res["azurerm_key_vault"]["a"]["tenant_id"] == 1
    assert res["azurerm_key_vault"]["b"]["access_policy"]["x"] == 1
    sub = res["azurerm_eventgrid_system_topic_event_subscription"]
    assert sub["a"]["system_topic"] == 1
    assert "storage_queue_endpoint" in sub["b"]
    assert "features" in schema["provider"]["b"]
    assert schema["data_sources"]["azurerm_client_config"].get("a", {}).get("tenant_id") is None


# --------------------------------------------------------------------------------------------- validator

PROVIDER = """\
provider "azurerm" {
  features {}
}
"""

VALID = """\
data "azurerm_client_config" "current" {}

resource "azurerm_storage_account" "this" {
  name                     = var.storage_account_name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_tier             = "Standard"
  account_replication_type = "LRS"
  min_tls_version          = "TLS1_2"
  tags                     = var.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
  }
}

resource "azurerm_storage_queue" "jobs" {
  for_each           = toset(["scan-requests", "scan-results"])
  name               = each.key
  storage_account_id = azurerm_storage_account.this.id
}

resource "azurerm_linux_function_app" "this" {
  name                       = "qscan-func"
  resource_group_name        = var.resource_group_name
  location                   = var.location
  service_plan_id            = var.service_plan_id
  storage_account_name       = azurerm_storage_account.this.name
  storage_account_access_key = azurerm_storage_account.this.primary_access_key
  https_only                 = true
  app_settings = {
    TENANT_ID = data.azurerm_client_config.current.tenant_id
  }

  site_config {
    minimum_tls_version = "1.2"
    application_stack {
      python_version = "3.11"
    }
    dynamic "ip_restriction" {
      for_each = var.allowed_cidrs
      content {
        ip_address = ip_restriction.value
        action     = "Allow"
      }
    }
  }

  identity {
    type = "SystemAssigned"
  }

  lifecycle {
    ignore_changes = [tags]
  }
  depends_on = [azurerm_storage_queue.jobs]
}

resource "azurerm_key_vault" "this" {
  name                = "qscan-kv"
  location            = var.location
  resource_group_name = var.resource_group_name
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"
  access_policy = [{
    tenant_id          = data.azurerm_client_config.current.tenant_id
    object_id          = "00000000-0000-0000-0000-000000000000"
    secret_permissions = ["Get"]
  }]
}

resource "aws_s3_bucket" "ignored" {
  bogus = true
}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def findings(tmp_path: Path, schema: dict[str, Any]) -> list[Finding]:
    return check_paths([tmp_path], schema).findings


def test_accepts_a_correct_realistic_configuration(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(tmp_path, "providers.tf", PROVIDER)
    write(tmp_path, "main.tf", VALID)
    report = check_paths([tmp_path], schema)
    assert report.findings == []
    assert (report.blocks_checked, report.files_checked) == (6, 2)


def test_unknown_resource_type(tmp_path: Path, schema: dict[str, Any]) -> None:
    path = write(
        tmp_path, "main.tf", 'locals {}\n\nresource "azurerm_storage_acount" "x" {\n  name = "a"\n}\n'
    )
    (finding,) = findings(tmp_path, schema)
    assert (finding.path, finding.line) == (str(path), 3)
    assert 'unknown azurerm resource type "azurerm_storage_acount"' in finding.message
    assert 'did you mean "azurerm_storage_account"' in finding.message


def test_unknown_data_source_type(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(tmp_path, "data.tf", '\ndata "azurerm_storage_queue_list" "x" {}\n')
    (finding,) = findings(tmp_path, schema)
    assert finding.line == 2
    assert 'unknown azurerm data source type "azurerm_storage_queue_list"' in finding.message


def test_unknown_argument(tmp_path: Path, schema: dict[str, Any]) -> None:
    text = VALID.replace('  min_tls_version          = "TLS1_2"\n', '  min_tls_versions         = "TLS1_2"\n')
    path = write(tmp_path, "main.tf", text)
    (finding,) = findings(tmp_path, schema)
    assert (finding.path, finding.line) == (str(path), 9)
    assert finding.message.startswith('azurerm_storage_account.this: unknown argument "min_tls_versions"')


def test_unknown_nested_block(tmp_path: Path, schema: dict[str, Any]) -> None:
    text = VALID.replace("    application_stack {\n", "    application_stacks {\n")
    write(tmp_path, "main.tf", text)
    (finding,) = findings(tmp_path, schema)
    assert finding.line == VALID.splitlines().index("    application_stack {") + 1
    assert finding.message.startswith(
        'azurerm_linux_function_app.this site_config: unknown block "application_stacks"'
    )


def test_missing_required_argument(tmp_path: Path, schema: dict[str, Any]) -> None:
    text = VALID.replace('  account_tier             = "Standard"\n', "")
    write(tmp_path, "main.tf", text)
    (finding,) = findings(tmp_path, schema)
    assert finding.line == 3
    assert finding.message == 'azurerm_storage_account.this: missing required argument "account_tier"'


def test_missing_required_argument_in_nested_block(tmp_path: Path, schema: dict[str, Any]) -> None:
    text = VALID.replace('    default_action = "Deny"\n', "")
    write(tmp_path, "main.tf", text)
    (finding,) = findings(tmp_path, schema)
    assert finding.line == VALID.splitlines().index("  network_rules {") + 1
    assert (
        finding.message
        == 'azurerm_storage_account.this network_rules: missing required argument "default_action"'
    )


def test_missing_required_nested_block(tmp_path: Path, schema: dict[str, Any]) -> None:
    path = write(
        tmp_path,
        "app.tf",
        """\
resource "azurerm_linux_function_app" "this" {
  name                = "f"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = "plan"
}
""",
    )
    (finding,) = findings(tmp_path, schema)
    assert (finding.path, finding.line) == (str(path), 1)
    assert finding.message == 'azurerm_linux_function_app.this: missing required block "site_config"'


def test_required_block_provided_by_a_dynamic_block(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(
        tmp_path,
        "app.tf",
        """\
resource "azurerm_linux_function_app" "this" {
  name                = "f"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = "plan"
  dynamic "site_config" {
    for_each = [1]
    content {
      always_on = false
    }
  }
}
""",
    )
    assert findings(tmp_path, schema) == []


def test_error_inside_a_dynamic_block(tmp_path: Path, schema: dict[str, Any]) -> None:
    text = VALID.replace(
        "        ip_address = ip_restriction.value\n", "        ip_adress = ip_restriction.value\n"
    )
    write(tmp_path, "main.tf", text)
    (finding,) = findings(tmp_path, schema)
    assert finding.line == VALID.splitlines().index("        ip_address = ip_restriction.value") + 1
    assert finding.message.startswith(
        'azurerm_linux_function_app.this site_config ip_restriction: unknown argument "ip_adress"'
    )
    assert 'did you mean "ip_address"' in finding.message


def test_dynamic_block_of_an_unknown_type_and_without_for_each(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
resource "azurerm_storage_queue" "q" {
  name               = "q"
  storage_account_id = "id"
  dynamic "metadata" {
    content {}
  }
}
""",
    )
    messages = [(f.line, f.message) for f in findings(tmp_path, schema)]
    assert messages == [
        (4, 'azurerm_storage_queue.q: "metadata" is an argument, not a block (write `metadata = ...`)'),
        (4, 'azurerm_storage_queue.q: dynamic "metadata": missing required argument "for_each"'),
    ]


def test_block_written_as_argument_and_too_many_blocks(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
resource "azurerm_storage_account" "this" {
  name                     = "a"
  resource_group_name      = "rg"
  location                 = "westeurope"
  account_tier             = "Standard"
  account_replication_type = "LRS"
  identity = {
    type = "SystemAssigned"
  }
  network_rules {
    default_action = "Deny"
  }
  network_rules {
    default_action = "Allow"
  }
}
""",
    )
    messages = [(f.line, f.message) for f in findings(tmp_path, schema)]
    assert messages == [
        (
            7,
            'azurerm_storage_account.this: "identity" is a block, not an argument (write `identity { ... }`)',
        ),
        (13, 'azurerm_storage_account.this: at most one "network_rules" block is allowed (found 2)'),
    ]


def test_provider_needs_features_and_known_settings(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(tmp_path, "providers.tf", 'provider "azurerm" {\n  subscriptionid = "x"\n}\n')
    messages = [(f.line, f.message) for f in findings(tmp_path, schema)]
    assert messages == [
        (1, 'provider "azurerm": missing required block "features"'),
        (2, 'provider "azurerm": unknown argument "subscriptionid" (did you mean "subscription_id"?)'),
    ]


def test_override_files_skip_missing_required_checks(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(
        tmp_path,
        "main_override.tf",
        'resource "azurerm_storage_account" "this" {\n  min_tls_versio = "x"\n}\n',
    )
    (finding,) = findings(tmp_path, schema)
    assert 'unknown argument "min_tls_versio"' in finding.message


def test_scoped_data_source_in_check_block(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(
        tmp_path,
        "checks.tf",
        'check "queue" {\n  data "azurerm_storage_queue" "q" {\n    storage_account_id = "x"\n  }\n'
        '  assert {\n    condition     = true\n    error_message = "no"\n  }\n}\n',
    )
    (finding,) = findings(tmp_path, schema)
    assert (finding.line, finding.message) == (
        2,
        'data.azurerm_storage_queue.q: missing required argument "name"',
    )


def test_parse_errors_and_terraform_dirs(tmp_path: Path, schema: dict[str, Any]) -> None:
    write(tmp_path, ".terraform/modules/x/main.tf", 'resource "azurerm_nope" "x" {}\n')
    path = write(tmp_path, "broken.tf", 'resource "azurerm_storage_queue" "q" {\n  name = \n}\n')
    (finding,) = findings(tmp_path, schema)
    assert finding.path == str(path)
    assert finding.message.startswith("HCL parse error:")


def test_main_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good"
    write(good, "main.tf", VALID)
    assert check_azurerm.main([str(good)]) == 0
    assert "checked 5 azurerm blocks in 1 files" in capsys.readouterr().out

    bad = tmp_path / "bad"
    bad_file = write(
        bad, "main.tf", VALID.replace("  https_only                 = true\n", "  https = true\n")
    )
    assert check_azurerm.main([str(bad)]) == 1
    captured = capsys.readouterr()
    line = VALID.splitlines().index("  https_only                 = true") + 1
    assert captured.out.startswith(
        f'{bad_file}:{line}: azurerm_linux_function_app.this: unknown argument "https"'
    )
    assert "1 error(s)" in captured.err

    assert check_azurerm.main([str(tmp_path / "nowhere")]) == 2


def test_script_runs_from_the_repo_root(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", PROVIDER)
    proc = subprocess.run(
        [sys.executable, "scripts/check_azurerm.py", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("check_azurerm: checked 1 azurerm blocks in 1 files")
