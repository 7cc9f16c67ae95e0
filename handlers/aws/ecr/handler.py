"""ECR push scanning: the Lambda handler behind modules/ecr (runtime python3.12, SQS trigger).

The trigger is an SQS batch whose message bodies are EventBridge events: the native `ECR Image Action` push,
or the CloudTrail `PutImage` call. Each record is normalized to its image target, completed (registry from the
event's account and region, falling back on the function's own), checked against its manifest
(`ecr:BatchGetImage`, which also resolves tag -> digest when the event carries only a tag, through the core
resolver `qscan.aws.ecr.resolve`, imported on first use), then claimed,
scanned with qscanner, persisted, notified and completed by `qscan.pipeline.Pipeline`, with the SQS messageId
as correlation id and claim owner.

Multi-arch pushes (docs/ecr.md): ECR emits one push event per manifest, the index included. Only image
manifests are scanned, each once by its own digest (dedupe key `image#<digest>`); the image index is skipped
(its platform manifests arrive as their own events), and so are build attestations (buildx provenance/SBOM:
in-toto layers) and other artifacts (signatures, SBOMs), which the event alone cannot tell from images. A
digest ECR no longer finds is scanned unverified: qscanner's pull then reports what happened to it. The loop, the partial
batch response (`batchItemFailures`), the accounting line and the EMF metrics are
`qscan.aws.sqs_handler.SqsScanHandler`.

Cross-account images (the event's account is not this function's account, e.g. spokes forwarding to a hub bus)
are read with `arn:<partition>:iam::<account>:role/<QSCAN_SPOKE_ROLE_NAME>` assumed with
`QSCAN_SPOKE_EXTERNAL_ID`: for the digest lookup and, as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN in qscanner's environment only, for the pull. Without those settings such a record FAILS
(it is retried, then dead-lettered with an alarm): a deployment that receives events it cannot read is
misconfigured, and skipping would hide that. The partition comes from the function's ARN, else its region.

Cold start (module import, once per execution environment): `qscan.aws.queue_handler` (settings, JSON logging,
the Qualys secret, boto3 clients with QSCAN_AWS_ENDPOINT_URL, dedupe store, result store, publisher, scanner,
batch loop). A cold start that fails (bad settings, unreadable secret) raises: every invocation then fails and
the queue's retries and dead-letter alarm make it visible. Only what every invocation needs is imported here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qscan.aws.ecr import require_image, resolve, with_registry
from qscan.aws.queue_handler import BatchResponse, QueueScanHandler, cold_start
from qscan.errors import ConfigError, UnsupportedEvent

if TYPE_CHECKING:
    from qscan.aws.context import LambdaContext
    from qscan.target import ScanTarget

LOG = logging.getLogger("qscan.handlers.ecr")


class EcrHandler(QueueScanHandler):
    """The ECR scanner: resolves ECR image targets; the rest is `QueueScanHandler`."""

    service_name = "qscan-ecr"  # default `service` metric dimension (the module sets QSCAN_SERVICE_NAME)
    session_name = "qscan-ecr-scanner"

    def resolve(self, target: ScanTarget) -> ScanTarget:
        """Complete an ECR target: registry, account credentials, digest. Raises for what cannot be scanned."""
        if target.platform != "ecr" or target.kind != "image":
            raise UnsupportedEvent(
                f"{target.platform} {target.kind} targets are not scanned by the ECR handler"
            )
        if target.lookup not in (None, "image_digest"):
            raise UnsupportedEvent(f"lookup {target.lookup} is not done by the ECR handler")
        account = target.account or self.accounts.own_account()
        region = target.region or self.region
        if not region:
            raise ConfigError("the event has no region and AWS_REGION is not set")
        if not target.repository:
            raise UnsupportedEvent("the ECR event names no repository")
        self.accounts.credentials_for(account)  # fails loudly now when the account cannot be read at all
        ecr = self.accounts.client("ecr", account, region)
        if target.lookup == "image_digest":
            if not target.tag:
                raise UnsupportedEvent("the ECR event has neither digest nor tag")
            found = resolve(
                ecr, registry_id=account, region=region, repository=target.repository, tag=target.tag
            )
            require_image(found, target.repository)
            digest = found.digest
            LOG.info("resolved %s:%s to %s", target.repository, target.tag, digest, extra={"digest": digest})
            return with_registry(target.resolved(digest=digest), account, region)  # image now pins the digest
        if target.digest:
            from qscan.registry.errors import ManifestNotFound  # noqa: PLC0415 - on first use

            try:
                found = resolve(
                    ecr,
                    registry_id=account,
                    region=region,
                    repository=target.repository,
                    digest=target.digest,
                )
            except ManifestNotFound:
                LOG.info(
                    "%s@%s is not in ECR (any more): scanned unverified", target.repository, target.digest
                )
            else:
                require_image(found, target.repository)
        if target.registry is None or target.account is None or target.region is None:
            target = with_registry(target, account, region)
        return target


HANDLER = cold_start(EcrHandler)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    """Lambda entry point: returns the SQS partial batch response."""
    return HANDLER.handle(event, context)
