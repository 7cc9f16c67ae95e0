# The shared scanner dashboard (mocked provider: plan only, no AWS).
mock_provider "aws" {}

variables {
  name              = "qscan-test-eu-west-1"
  region            = "eu-west-1"
  metrics_namespace = "secops/qscan"
  service_name      = "qscan-test"
  health_widgets = [
    { title = "Function", stat = "Sum", metrics = [["AWS/Lambda", "Errors", "FunctionName", "f"]] },
    { title = "Queue", stat = "Maximum", metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "q"]], alarm_threshold = 3600 },
  ]
}

run "scans_findings_health_and_per_account" {
  command = plan

  assert {
    condition = [for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : widget.properties.title] == [
      "Scans", "Findings by severity", "Function", "Queue", "Scans per account", "Failures per account",
    ]
    error_message = "Scans and findings, the caller's health row, then the per-account widgets."
  }
  assert {
    condition = (
      aws_cloudwatch_dashboard.this[0].dashboard_name == "qscan-test-eu-west-1" &&
      alltrue([for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : widget.properties.region == "eu-west-1"])
    )
    error_message = "The name as given; every widget reads the scanner's region."
  }
  assert {
    condition = (
      [for widget in slice(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets, 2, 4) : [widget.x, widget.y, widget.width]] == [[0, 6, 12], [12, 6, 12]] &&
      !can(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[2].properties.annotations) &&
      jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[3].properties.annotations.horizontal[0].value == 3600 &&
      jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[3].properties.stat == "Maximum"
    )
    error_message = "The health widgets share the second row; an alarm threshold is drawn only where given."
  }
  assert {
    condition = [for line in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[4].properties.metrics : line[0].expression] == [
      "SEARCH('{\"secops/qscan\",account,service} MetricName=\"ScansDeduplicated\" service=\"qscan-test\"', 'Sum', 300)",
      "SEARCH('{\"secops/qscan\",account,service} MetricName=\"ScansSucceeded\" service=\"qscan-test\"', 'Sum', 300)",
    ]
    error_message = "Scans per account SEARCH the exact dimension set service + account (accounts are unknown at plan time)."
  }
  assert {
    condition = (
      [for line in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[5].properties.metrics : regex("MetricName=\"([A-Za-z]+)\"", line[0].expression)[0]] == ["EventsDeadLettered", "ScanAttemptsFailed", "ScansFailed"] &&
      alltrue([for line in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[5].properties.metrics : endswith(line[0].label, "$${PROP('Dim.account')}") && length(line) == 1])
    )
    error_message = "Failures per account: failed scans, failed attempts and dead letters, one line per account, labelled with it."
  }
  assert {
    condition = (
      jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[0].properties.metrics[0] == ["secops/qscan", "ScansStarted", "service", "qscan-test"] &&
      length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[1].properties.metrics) == 5
    )
    error_message = "The service-only series the alarms and the Scans widget read, and the five severities."
  }
}

run "optional" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = output.dashboard == null && output.metrics.service == "qscan-test" && length(output.metrics.scan_metrics) == 7
    error_message = "No dashboard when create is false; the metric contract is still described."
  }
}

run "rejects_a_name_cloudwatch_refuses" {
  command = plan

  variables {
    name = "qscan test"
  }

  expect_failures = [var.name]
}

run "rejects_a_second_row_that_does_not_fit" {
  command = plan

  variables {
    health_widgets = [for n in range(5) : { title = "w${n}", stat = "Sum", metrics = [] }]
  }

  expect_failures = [var.health_widgets]
}
