"""The Lambda context object, as far as the handlers read it.

The Python runtime passes every invocation a context object (`awslambdaric`'s `LambdaContext`); qscan reads
three of its members and types them here, so the entry points and the batch loop name what they rely on and
test doubles can be checked against it (`isinstance` works: the protocol is runtime-checkable):

- `invoked_function_arn`: the function's partition (assumed-role ARNs) and, for the Lambda scanner, its own ARN
  (never scanned);
- `aws_request_id`: the correlation id of the batch-level log lines;
- `get_remaining_time_in_millis()`: whether another record still fits into the invocation.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class LambdaContext(Protocol):
    """The members of the Lambda context object qscan's handlers read (see the module docstring)."""

    @property
    def invoked_function_arn(self) -> str: ...

    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...
