# The scheduled reconciler (the app's `reconcile` timer function, qscan.azure.reconciler): it lists what runs in
# the subscriptions (container groups, container apps, jobs and their recent executions: an execution started
# with images of its own emits no write event), and queues a scan request on the scan queue for every image the
# dedupe table has not seen, or saw longer ago than the cache TTL (the rescan interval). It reads ARM with the
# reader role (rbac.tf: its list calls need the same read actions, plus jobs/executions/read) and queues with
# the app's Storage Queue Data Contributor on the scan queue; it writes inventory/azure/<subscription>/ to the
# results container with the app's Storage Blob Data Contributor there.
locals {
  reconcile_subscription_ids = length(var.reconcile.subscription_ids) > 0 ? var.reconcile.subscription_ids : concat([local.subscription_id], var.spoke_subscription_ids)

  # QSCAN_RECONCILE_SCHEDULE registers the timer function (handlers/azure/function_app.py): without it there
  # is no reconciler. A run ends a minute before host.json's functionTimeout at the latest.
  reconcile_settings = var.reconcile.enabled ? {
    QSCAN_RECONCILE_SCHEDULE         = var.reconcile.schedule
    QSCAN_RECONCILE_SUBSCRIPTION_IDS = join(",", local.reconcile_subscription_ids)
    QSCAN_RECONCILE_LOOKBACK_DAYS    = tostring(var.reconcile.lookback_days)
    QSCAN_RECONCILE_MAX_PAGES        = tostring(var.reconcile.max_pages)
    QSCAN_RECONCILE_MAX_SECONDS      = tostring(min(var.reconcile.max_seconds, local.function_timeout_seconds - 60))
    QSCAN_RECONCILE_MAX_REQUESTS     = tostring(var.reconcile.max_requests)
  } : {}
}

# Every run logs one `reconcile summary` JSON line per subscription (the trace's message); the alert fires when
# a subscription's never-scanned count stayed above zero in every run of the last day: something runs that the
# scans never covered (requests failing, images the app cannot pull).
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "never_scanned" {
  count = var.reconcile.enabled && var.reconcile.never_scanned_alert ? 1 : 0

  name                 = "${local.base}-never-scanned"
  resource_group_name  = var.resource_group_name
  location             = var.location
  description          = "The reconciler found running images that were never scanned, in every run for a day."
  scopes               = [azurerm_application_insights.this.id]
  severity             = 2
  evaluation_frequency = "PT1H"
  window_duration      = "P1D"
  tags                 = local.tags

  criteria {
    query                   = <<-KQL
      traces
      | where message has "reconcile summary"
      | extend summary = parse_json(message).reconcile
      | project TimeGenerated = timestamp, subscription = tostring(summary.subscription), never_scanned = toint(summary.never_scanned)
      | where isnotempty(subscription)
    KQL
    time_aggregation_method = "Minimum"
    metric_measure_column   = "never_scanned"
    operator                = "GreaterThan"
    threshold               = 0

    dimension {
      name     = "subscription"
      operator = "Include"
      values   = ["*"]
    }
  }

  action {
    action_groups = [local.action_group_id]
  }
}
