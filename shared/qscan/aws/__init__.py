"""AWS runtime helpers shared by the Lambda handlers (boto3 required).

- `sessions`: one client factory per cold start (every client honours QSCAN_AWS_ENDPOINT_URL), the function's
  own account, and cached assumed-role credentials for other accounts (hub-spoke).
- `ecr`: resolve an ECR image tag to its manifest digest.
- `sqs_handler`: the SQS batch loop (normalize -> resolve -> pipeline, partial batch response, accounting line,
  EMF metrics) that queue-fed handlers share.
- `queue_handler`: what a queue-fed scanner handler creates once per cold start (clients, accounts, stores,
  publisher, metrics, Qualys secret, qscanner, pipeline, batch loop) and its entry point; the ECR and Lambda
  handlers subclass it and add how they resolve their targets.
"""
