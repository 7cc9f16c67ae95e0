# The module has no provider: every run plans the outputs straight from the fixture manifests.

run "relative_and_absolute_paths" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/packaged/manifest.json"
    names         = ["aws-ecr", "aws-lambda"]
  }

  assert {
    condition     = output.handler_artifacts["aws-ecr"] == { local_path = "tests/fixtures/dist/aws-ecr.zip", source_code_hash = "ZWNyZWNyZWNyZWNyZWNyZWNyZWNyZWNyZWNyZWNyZWM=" }
    error_message = "A relative artifact path is under the folder above the manifest's, with the manifest's hash."
  }
  assert {
    condition     = output.handler_artifacts["aws-lambda"].local_path == "/opt/packages/aws-lambda.zip"
    error_message = "An absolute artifact path is used as it is."
  }
  assert {
    condition     = keys(output.handler_artifacts) == ["aws-ecr", "aws-lambda"]
    error_message = "Only the names asked for are returned."
  }
  assert {
    condition     = output.qscanner_layer == { local_path = "tests/fixtures/dist/qscanner-layer.zip", source_code_hash = "bGF5ZXJsYXllcmxheWVybGF5ZXJsYXllcmxheWVybGE=" }
    error_message = "The qscanner layer entry is returned like a handler package."
  }
  assert {
    condition     = output.manifest_found
    error_message = "The manifest exists."
  }
}

run "missing_and_incomplete_entries_are_placeholders" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/packaged/manifest.json"
    names         = ["aws-fargate", "aws-broken"]
  }

  assert {
    condition     = alltrue([for name in ["aws-fargate", "aws-broken"] : output.handler_artifacts[name] == { local_path = "run-make-package-first.zip", source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }])
    error_message = "An entry the manifest lacks, or one without its hash, is the placeholder (the root's validation stops the plan)."
  }
}

run "no_layer_built" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/no-layer/manifest.json"
    names         = ["azure-functions"]
  }

  assert {
    condition     = output.qscanner_layer == null && output.handler_artifacts["azure-functions"].local_path == "tests/fixtures/dist/azure-functions.zip"
    error_message = "Without a \"qscanner-layer\" entry there is no layer; artifact paths stay relative to the folder above the manifest's."
  }
}

run "missing_or_unreadable_manifest" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/no-layer/truncated.json"
    names         = ["aws-ecr"]
  }

  assert {
    condition     = !output.manifest_found && output.qscanner_layer == null && output.handler_artifacts["aws-ecr"].local_path == "run-make-package-first.zip"
    error_message = "A manifest that does not parse counts as missing: placeholders, no layer."
  }
}

run "no_manifest_file" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/absent/manifest.json"
    names         = ["aws-ecr"]
  }

  assert {
    condition     = !output.manifest_found && output.handler_artifacts["aws-ecr"].local_path == "run-make-package-first.zip"
    error_message = "No manifest file (before `make package`): placeholders."
  }
}
