"""qscan.aws.context.LambdaContext: every Lambda context double the tests, the bench and the demo pass to the
handlers has the members the handlers read, with the runtime's types; a context without them is refused."""

from __future__ import annotations

import pytest
from qscan.aws.context import LambdaContext

from scripts.demo_worker import Context as DemoContext
from tests.bench.bench_burst import _Context as BurstContext
from tests.harness.handler_world import LambdaContext as HarnessContext
from tests.unit.test_handler_ecr import EcrContext
from tests.unit.test_handler_ecr_retries import ShortOfTime
from tests.unit.test_handler_lambda import FunctionContext
from tests.unit.test_sqs_handler import Context as ScriptedContext


def conforming(context: LambdaContext) -> LambdaContext:
    """The typed door the handlers' entry points have: a context double must pass it at run time too."""
    assert isinstance(context, LambdaContext), f"{type(context).__name__} lacks a member the handlers read"
    assert isinstance(context.invoked_function_arn, str)
    assert isinstance(context.aws_request_id, str)
    assert isinstance(context.get_remaining_time_in_millis(), int)
    return context


@pytest.mark.parametrize(
    "context",
    [
        HarnessContext(),
        EcrContext(),
        FunctionContext(),
        ShortOfTime(),
        ScriptedContext([60_000]),
        BurstContext(),
        DemoContext(
            "qscan-ecr-scanner", "arn:aws:lambda:eu-west-1:123456789012:function:qscan-ecr-scanner", 60
        ),
    ],
    ids=lambda context: type(context).__name__,
)
def test_context_doubles_conform(context: object) -> None:
    conforming(context)  # type: ignore[arg-type]  # what is checked here is the double


class WithoutRequestId:
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:qscan-ecr-scanner"

    def get_remaining_time_in_millis(self) -> int:
        return 1_000


def test_a_context_without_a_member_the_handlers_read_does_not_conform() -> None:
    assert not isinstance(WithoutRequestId(), LambdaContext)
    with pytest.raises(AssertionError, match="WithoutRequestId lacks"):
        conforming(WithoutRequestId())  # type: ignore[arg-type]
