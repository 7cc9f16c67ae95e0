variable "create" {
  description = "Create the dashboard (false: nothing is created; the `metrics` output still describes the contract)."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "Dashboard name. Dashboards are account-global: the callers' names carry the region."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.name))
    error_message = "name must be 1-255 letters, digits, - or _ (a CloudWatch dashboard name)."
  }
}

variable "region" {
  description = "Region of the metrics the widgets read (the scanner's region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name, e.g. eu-west-1."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the scanner's EMF metrics (its QSCAN_METRICS_NAMESPACE)."
  type        = string
}

variable "service_name" {
  description = "Value of the metrics' `service` dimension (the scanner's QSCAN_SERVICE_NAME)."
  type        = string
}

variable "health_widgets" {
  description = "The scanner's own health widgets, shown side by side in the second row: a title, the statistic, the metric lines (CloudWatch's [namespace, metric, dimension, value, ...] form) and an optional alarm threshold drawn as a line."
  type = list(object({
    title           = string
    stat            = string
    metrics         = list(list(string))
    alarm_threshold = optional(number)
  }))
  default  = []
  nullable = false

  validation {
    condition     = length(var.health_widgets) <= 4
    error_message = "health_widgets takes at most 4 widgets (one row)."
  }
}
