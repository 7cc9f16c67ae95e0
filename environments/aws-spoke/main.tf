# A qscan spoke (one member account, one region): forwards the hub platforms' events from the default bus to
# the hub bus and, in one region per account, holds the read role the hub's scanners assume. All of it is
# modules/aws-spoke, fed by the hub's spoke_config.

module "spoke" {
  source = "../../modules/aws-spoke"

  name_prefix                = var.name_prefix
  hub                        = var.hub
  create_read_role           = var.create_read_role
  create_trail               = var.create_trail
  trail_multi_region         = var.trail_multi_region
  trail_bucket_force_destroy = var.trail_bucket_force_destroy
  dlq_alarm_actions          = var.dlq_alarm_actions
}
