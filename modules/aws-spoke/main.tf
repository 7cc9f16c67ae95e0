# A spoke of a hub-spoke deployment (every member account, every region used): rules on the default bus for
# exactly the hub platforms' patterns (hub.event_patterns), forwarded to the hub bus with an IAM role on the
# target and a KMS-encrypted dead-letter queue; the read role the hub's scanners assume (trust: their role
# ARNs + ExternalId; permissions: the platforms' read policies, verbatim); optionally a management-events trail.
#
# Account-global names carry the region (the forwarding role), so a second region of the same account never
# collides; the read role is the exception by contract (the scanners assume it by name in the event's account):
# create it in one region per account (create_read_role).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  tags       = merge(var.tags, { "qscan:component" = "spoke" })

  forward_role_name = "${var.name_prefix}-spoke-forward-${local.region}"
  rule_names        = { for key in keys(var.hub.event_patterns) : key => "${var.name_prefix}-fwd-${replace(key, "_", "-")}-${local.region}" }
}

module "trail" {
  source = "../aws-trail"
  count  = var.create_trail ? 1 : 0

  name                 = "${var.name_prefix}-spoke-trail"
  multi_region         = var.trail_multi_region
  bucket_force_destroy = var.trail_bucket_force_destroy
  tags                 = local.tags
}
