"""AWS runtime helpers shared by the Lambda handlers (boto3 required).

- `sessions`: one client factory per cold start (every client honours QSCAN_AWS_ENDPOINT_URL), the function's
  own account, and cached assumed-role credentials for other accounts (hub-spoke).
- `ecr`: resolve an ECR image tag to its manifest digest.
- `sqs_handler`: the SQS batch loop (normalize -> resolve -> pipeline, partial batch response, accounting line,
  EMF metrics) that queue-fed handlers share.
"""
