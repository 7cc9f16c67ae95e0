"""The AWS platform's home in the core: the Lambda handlers' runtime and the AWS artifacts they scan (boto3).

Service backends of the core's own concepts sit with that concept instead, named after the service
(`qscan.dedupe.dynamodb`, `qscan.results.s3`, `qscan.notify.sns`); see docs/layout.md.

- `sessions`: one client factory per cold start (every client honours QSCAN_AWS_ENDPOINT_URL), the function's
  own account, and cached assumed-role credentials for other accounts (hub-spoke).
- `ecr`: resolve an ECR image tag to its manifest digest.
- `lambdas`: Lambda functions as scan targets (GetFunction resolution, the own-function guard, result tags) and
  the bulk scan of an account's functions.
- `context`: the part of the Lambda context object the handlers read (`LambdaContext`).
- `sqs_handler`: the SQS batch loop (normalize -> resolve -> pipeline, partial batch response, accounting line,
  EMF metrics) that queue-fed handlers share.
- `queue_handler`: what a queue-fed scanner handler creates once per cold start (clients, accounts, stores,
  publisher, metrics, Qualys secret, qscanner, pipeline, batch loop) and its entry point; the ECR and Lambda
  handlers subclass it and add how they resolve their targets.
"""
