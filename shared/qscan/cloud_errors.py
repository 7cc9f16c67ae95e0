"""Map AWS (botocore) and Azure (azure-core) SDK errors onto qscan's typed errors.

* throttling, timeouts, connection failures and 5xx -> `TransientError` (raise: the platform retries);
* missing resources and denied permissions -> `ConfigError` (the deployment is wrong: fail loudly);
* anything else -> None: the caller re-raises the original exception (a bug, not a condition to handle).

Messages name the action, the service error code and the HTTP status only: never the SDK's message text, which
can echo request URLs, headers or values.
"""

from __future__ import annotations

from qscan.errors import ConfigError, QscanError, TransientError

AWS_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "InternalServerError",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionConflictException",
        "KMSThrottlingException",
    }
)
AWS_CONFIG_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDenied",
        "AccessDeniedException",
        "NoSuchBucket",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "KMS.NotFoundException",
        "KMS.DisabledException",
        "NotFoundException",
    }
)
AZURE_TRANSIENT_STATUSES = frozenset({408, 429})
AZURE_CONFIG_STATUSES = frozenset({401, 403})


def aws_error_code(exc: Exception) -> str:
    """The service error code of a botocore `ClientError` (`Error.Code`), else "" (any other exception)."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return str(error.get("Code") or "") if isinstance(error, dict) else ""


def aws_error(exc: Exception, action: str) -> QscanError | None:
    """The qscan error for a botocore exception raised by `action`, or None to re-raise it unchanged."""
    from botocore import exceptions as bex  # noqa: PLC0415 - optional dependency (extra "aws")

    if isinstance(exc, bex.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        detail = f"{action}: {code or 'error'} (HTTP {status or '?'})"
        if code in AWS_TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientError(detail)
        if code in AWS_CONFIG_CODES or status in (401, 403):
            return ConfigError(detail)
        return None
    if isinstance(
        exc,
        bex.ConnectionError | bex.HTTPClientError | bex.ConnectionClosedError,
    ):
        return TransientError(f"{action}: {type(exc).__name__}")
    return None


def azure_error(exc: Exception, action: str) -> QscanError | None:
    """The qscan error for an azure-core exception raised by `action`, or None to re-raise it unchanged."""
    from azure.core import exceptions as aex  # noqa: PLC0415 - optional (extra "azure")

    if isinstance(exc, aex.ServiceRequestError | aex.ServiceResponseError):
        return TransientError(f"{action}: {type(exc).__name__}")
    if isinstance(exc, aex.HttpResponseError):
        status = int(exc.status_code or 0)
        code = str(getattr(exc, "error_code", None) or "")
        detail = f"{action}: {code or 'error'} (HTTP {status or '?'})"
        if status in AZURE_TRANSIENT_STATUSES or status >= 500:
            return TransientError(detail)
        if status in AZURE_CONFIG_STATUSES or isinstance(exc, aex.ClientAuthenticationError):
            return ConfigError(detail)
        if status == 404 and code in {"TableNotFound", "ContainerNotFound"}:
            return ConfigError(detail)
        return None
    return None
