# host.json of the app package (output host_json) and the app settings that apply this module's values over it.
# This file refers to variables only, so tests/integration/test_aci_aca_variables.py evaluates it with Terraform
# and compares it with handlers/azure/host.json.
locals {
  function_timeout_seconds = var.scan_timeout_seconds + 120
  function_timeout         = format("%02d:%02d:%02d", floor(local.function_timeout_seconds / 3600), floor(local.function_timeout_seconds % 3600 / 60), local.function_timeout_seconds % 60)
  visibility_timeout       = format("%02d:%02d:%02d", floor(var.queue_visibility_timeout_seconds / 3600), floor(var.queue_visibility_timeout_seconds % 3600 / 60), var.queue_visibility_timeout_seconds % 60)

  host_json = {
    version         = "2.0"
    functionTimeout = local.function_timeout # just above the scan timeout
    extensionBundle = {
      id      = "Microsoft.Azure.Functions.ExtensionBundle"
      version = "[4.*, 5.0.0)"
    }
    extensions = {
      queues = {
        batchSize         = var.queue_batch_size
        newBatchThreshold = 0 # fetch the next batch only when this one is done: at most batchSize scans per instance
        maxDequeueCount   = var.queue_max_dequeue_count
        visibilityTimeout = local.visibility_timeout
        messageEncoding   = "none" # the body reaches the app as Event Grid sent it: JSON or base64, the app tries both
      }
    }
    logging = {
      logLevel = {
        default        = "Warning"
        Function       = "Information"
        "Host.Results" = "Information"
      }
      applicationInsights = {
        samplingSettings = { isEnabled = false } # every invocation counts: the alerts count requests
      }
    }
  }

  # App settings `AzureFunctionsJobHost__<path>` override host.json: a changed variable takes effect on apply
  # without rebuilding the package (the app reads maxDequeueCount the same way for its last-attempt notice).
  host_settings = {
    AzureFunctionsJobHost__functionTimeout                       = local.function_timeout
    AzureFunctionsJobHost__extensions__queues__batchSize         = tostring(var.queue_batch_size)
    AzureFunctionsJobHost__extensions__queues__maxDequeueCount   = tostring(var.queue_max_dequeue_count)
    AzureFunctionsJobHost__extensions__queues__visibilityTimeout = local.visibility_timeout
  }
}
