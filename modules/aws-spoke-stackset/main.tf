# The hub-spoke spoke for a whole organization: a SERVICE_MANAGED CloudFormation StackSet of the template
# scripts/spoke_stackset.py renders from the hub's spoke_config (the resources of modules/aws-spoke), deployed
# to organizational units in every chosen region and, by auto-deployment, to every account that joins them
# later (and removed from accounts that leave). Apply it in the organization's management account or a
# delegated administrator account for StackSets (call_as).

locals {
  tags = merge(var.tags, { "qscan:component" = "spoke" })
}

resource "aws_cloudformation_stack_set" "this" {
  name             = "${var.name_prefix}-spoke"
  description      = "qscan hub-spoke spokes: forwarding rules, forwarding role, dead-letter queue and read role"
  permission_model = "SERVICE_MANAGED"
  call_as          = var.call_as
  template_body    = var.template_body
  capabilities     = ["CAPABILITY_NAMED_IAM"]
  parameters       = { ReadRoleRegion = var.read_role_region }
  # Stack tags propagate to every resource of the stacks.
  tags = local.tags

  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = false
  }

  managed_execution {
    active = true
  }

  operation_preferences {
    failure_tolerance_percentage = var.operation_preferences.failure_tolerance_percentage
    max_concurrent_percentage    = var.operation_preferences.max_concurrent_percentage
    region_concurrency_type      = var.operation_preferences.region_concurrency_type
  }

  # AWS sets the administration role of a SERVICE_MANAGED stack set itself (the provider documents this).
  lifecycle {
    ignore_changes = [administration_role_arn]
  }
}

resource "aws_cloudformation_stack_set_instance" "this" {
  for_each = toset(var.regions)

  stack_set_name = aws_cloudformation_stack_set.this.name
  call_as        = var.call_as
  region         = each.value

  deployment_targets {
    organizational_unit_ids = sort(distinct(var.organizational_unit_ids))
    # The accounts of the OUs except these (e.g. the hub account, which reads itself with its own roles).
    account_filter_type = length(var.excluded_account_ids) == 0 ? null : "DIFFERENCE"
    accounts            = length(var.excluded_account_ids) == 0 ? null : sort(distinct(var.excluded_account_ids))
  }

  operation_preferences {
    failure_tolerance_percentage = var.operation_preferences.failure_tolerance_percentage
    max_concurrent_percentage    = var.operation_preferences.max_concurrent_percentage
    region_concurrency_type      = var.operation_preferences.region_concurrency_type
  }
}
