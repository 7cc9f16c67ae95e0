"""The AWS platform's home in the core: the Lambda handlers' runtime and the AWS artifacts they scan (boto3).

Service backends of the core's own concepts sit with that concept instead, named after the service
(`qscan.dedupe.dynamodb`, `qscan.results.s3`, `qscan.notify.sns`); see docs/layout.md.

- `sessions`: one client factory per cold start (every client honours QSCAN_AWS_ENDPOINT_URL), the function's
  own account, and cached assumed-role credentials for other accounts (hub-spoke).
- `ecr`: resolve an ECR image tag to its manifest digest.
- `ecs`: ECS task definitions as scan targets (DescribeTaskDefinition, each container image resolved to the
  digest that runs on the task's platform): the Fargate workflow's parse step.
- `lambdas`: Lambda functions as scan targets (GetFunction resolution, the own-function guard, result tags) and
  the bulk scan of an account's functions.
- `context`: the part of the Lambda context object the handlers read (`LambdaContext`).
- `sqs_handler`: the SQS batch loop (normalize -> resolve -> pipeline, partial batch response, accounting line,
  EMF metrics) that queue-fed handlers share.
- `scan_handler`: what every AWS scanner handler creates once per cold start (clients, accounts, stores,
  publisher, metrics, Qualys secret, scanner, pipeline) and `cold_start`; the Fargate task functions subclass it.
- `queue_handler`: `scan_handler`'s class plus the SQS batch loop and its entry point; the ECR and Lambda
  handlers subclass it and add how they resolve their targets.
"""
