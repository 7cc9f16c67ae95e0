"""The Fargate workflow's cost and limits (docs/fargate.md "Cost and limits"), checked by calculation.

tests/harness/fargate_cost.py walks the rendered modules/fargate/workflow.asl.json; these tests hold the walk to
the documented formulas (a workflow change that adds or removes a state on a path fails here with what to
update), the generated doc block to the walk, and the limits to the module's validations.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from tests.harness import fargate_cost as cost
from tests.harness.fargate_cost import FORMULAS, Formula, Scenario, WalkError, definition_for, walk

UPDATE = (
    "the workflow's transitions changed: update FORMULAS in tests/harness/fargate_cost.py and regenerate "
    "docs/fargate.md with `python -m tests.harness.fargate_cost --write`"
)


def check_formula(formula: Formula, definition: dict[str, Any], images: int, polls: int) -> None:
    done = walk(definition, formula.scenario(images, polls))
    assert done.status == "SUCCEEDED", f"{formula.label}: the execution {done.status}"
    assert done.transitions == formula.transitions(images, polls), (
        f"{formula.label}, {images} image(s), k = {polls}: {done.transitions} transitions, the formula says "
        f"{formula.transitions(images, polls)}; {UPDATE}"
    )
    assert done.events == formula.events(images, polls), (
        f"{formula.label}, {images} image(s), k = {polls}: {done.events} history events, the formula says "
        f"{formula.events(images, polls)}; {UPDATE}"
    )


@pytest.mark.parametrize("formula", FORMULAS, ids=[f.label for f in FORMULAS])
@pytest.mark.parametrize(("images", "polls"), [(1, 1), (3, 3), (10, 7)])
def test_every_path_takes_the_documented_transitions(formula: Formula, images: int, polls: int) -> None:
    # A poll timeout takes exactly max_polls polls: render the workflow with max_polls = k for it.
    overrides = {"max_polls": polls} if formula.timeout else {}
    check_formula(formula, definition_for(formula.backend, **overrides), images, polls)


def test_a_state_added_to_a_path_fails_the_formula_check() -> None:
    """The check is not vacuous: one more Pass state on the claim path is one more transition per image."""
    definition = definition_for("qscanner")
    states = definition["States"]["ScanImages"]["ItemProcessor"]["States"]
    states["Audit"] = {"Type": "Pass", "Next": states["Claim"]["Next"]}
    states["Claim"]["Next"] = "Audit"
    (scanned,) = [f for f in FORMULAS if f.label == "qscanner: scanned"]
    with pytest.raises(AssertionError, match=r"7 transitions, the formula says 6; the workflow's"):
        check_formula(scanned, definition, 1, 0)


def test_the_paths_run_the_steps_they_are_named_after() -> None:
    scanned = walk(definition_for("qualys-api"), Scenario("qualys-api", images=2, polls=3))
    assert scanned.invocations == {
        "parse": 1,
        "claim": 2,
        "ensure_registry": 2,
        "schedule_scan": 2,
        "poll_scan": 6,
        "fetch_results": 2,
    }
    assert scanned.entered["ScanImages/WaitForScan"] == 6
    assert [(o["outcome"], o["status"]) for o in scanned.output["outcomes"]] == [("scanned", "success")] * 2
    deduplicated = walk(definition_for("qscanner"), Scenario("qscanner", images=2, deduplicated=True))
    assert deduplicated.invocations == {"parse": 1, "claim": 2}
    assert [o["outcome"] for o in deduplicated.output["outcomes"]] == ["deduplicated"] * 2
    timed_out = walk(definition_for("qualys-api", max_polls=4), Scenario("qualys-api", polls=5))
    (outcome,) = timed_out.output["outcomes"]
    assert outcome["outcome"] == "failed" and outcome["error"]["Error"] == "qscan.PollTimeout"
    assert timed_out.invocations["poll_scan"] == 4 and timed_out.invocations["notify_failure"] == 1


def test_retries_are_billed_as_transitions_and_invocations() -> None:
    (scanned,) = [f for f in FORMULAS if f.label == "qscanner: scanned"]
    retried = walk(definition_for("qscanner"), Scenario("qscanner", images=3, transient={"scan_qscanner": 2}))
    assert retried.status == "SUCCEEDED"
    assert retried.transitions == scanned.transitions(3, 0) + 3 * 2
    assert retried.events == scanned.events(3, 0) + 3 * 2 * 3
    assert retried.invocations["scan_qscanner"] == 3 * 3
    # Beyond retry.max_attempts the transient error is caught like any other: release, notify, next image.
    exhausted = walk(
        definition_for("qscanner", retry_max_attempts=2),
        Scenario("qscanner", transient={"scan_qscanner": 5}),
    )
    assert exhausted.invocations["scan_qscanner"] == 3
    assert exhausted.output["outcomes"][0]["error"]["Error"] == "TransientStepError"


def test_an_event_that_cannot_be_parsed_notifies_and_fails() -> None:
    failed = walk(definition_for("qscanner"), cost.EVENT_FAILURE)
    assert failed.status == "FAILED"
    assert failed.transitions == cost.EVENT_FAILURE_TRANSITIONS
    assert failed.invocations == {"parse": 1, "notify_failure": 1}


def test_a_failed_failure_notification_fails_the_execution() -> None:
    failed = walk(
        definition_for("qscanner"),
        Scenario("qscanner", images=2, failing=("scan_qscanner", "notify_failure")),
    )
    assert failed.status == "FAILED"
    assert failed.entered["ScanImages/NotificationFailed"] == 1
    assert failed.invocations["claim"] == 1  # an Inline Map stops at its first failed iteration


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["Claim"].update(InputPath="$.claim"), r"does not model \['InputPath'\]"),
        (
            lambda s: s["AlreadyScanned"]["Choices"][0].update(IsPresent=True),
            r"does not model the choice rule",
        ),
        (lambda s: s["Claim"].update(Next="NoSuchState"), r"NoSuchState: no such state"),
    ],
)
def test_the_walker_refuses_what_it_does_not_model(change: Any, message: str) -> None:
    definition = definition_for("qscanner")
    change(definition["States"]["ScanImages"]["ItemProcessor"]["States"])
    with pytest.raises(WalkError, match=message):
        walk(definition, Scenario("qscanner"))


def test_an_unbounded_loop_is_reported_not_followed() -> None:
    definition = definition_for("qualys-api")
    states = definition["States"]["ScanImages"]["ItemProcessor"]["States"]
    states["ScanDone"]["Choices"] = states["ScanDone"]["Choices"][:1]  # no max_polls bound
    with pytest.raises(WalkError, match="unbounded loop"):
        walk(definition, Scenario("qualys-api", polls=10**9), step_limit=1_000)


@pytest.mark.parametrize("deployment", cost.DEPLOYMENTS, ids=[d.label for d in cost.DEPLOYMENTS])
def test_cost_per_deployment_follows_from_the_formulas(deployment: cost.Deployment) -> None:
    scenario = deployment.scenario
    (formula,) = [
        f
        for f in FORMULAS
        if f.backend == scenario.backend
        and f.deduplicated == scenario.deduplicated
        and not f.failing
        and not f.timeout
    ]
    done = walk(definition_for(scenario.backend), scenario)
    polls = 0 if scenario.deduplicated or scenario.backend == "qscanner" else scenario.polls
    assert done.transitions == formula.transitions(scenario.images, polls)
    # parse, then per image the claim and (new images) the backend's tasks: qscanner 1; qualys-api ensure,
    # schedule, k polls, fetch.
    scan_tasks = 0 if scenario.deduplicated else {"qscanner": 1, "qualys-api": 3 + polls}[scenario.backend]
    requests = 1 + scenario.images * (1 + scan_tasks)
    assert done.lambda_requests() == requests
    scans = scenario.images if scenario.backend == "qscanner" and not scenario.deduplicated else 0
    memory = int(cost.variable_default("memory_size"))
    seconds = (requests - scans) * 1 + scans * 60
    assert done.gb_seconds(memory) == pytest.approx(seconds * memory / 1024)
    states, lambdas = done.cost(memory)
    assert states == pytest.approx(done.transitions * 0.025 / 1000)
    assert lambdas == pytest.approx(requests * 0.20 / 1e6 + seconds * memory / 1024 * 0.0000166667)


def test_the_prices_are_the_documented_list_prices() -> None:
    text = cost.DOC.read_text()
    assert pytest.approx(0.025) == cost.PRICE_PER_TRANSITION * 1000
    assert "$0.025 per 1,000 state transitions" in text
    assert pytest.approx(0.20) == cost.PRICE_PER_LAMBDA_REQUEST * 1e6
    assert "$0.20 per 1 million requests" in text
    assert f"${cost.PRICE_PER_GB_SECOND:.10f} per GB-second" in text
    assert cost.STEP_SECONDS == {"scan_qscanner": 60.0} and cost.OTHER_STEP_SECONDS == 1.0
    assert "(`scan_qscanner`: pull, scan, record) 60 s, every other step" in text


@pytest.fixture(scope="module")
def generated() -> str:
    return cost.cost_section()


def test_the_doc_tables_are_the_computed_figures(generated: str) -> None:
    assert cost.doc_block(cost.DOC.read_text()) == generated, (
        "docs/fargate.md's cost tables differ from the walk: run `python -m tests.harness.fargate_cost --write`"
    )


def test_the_generated_block_shows_the_walked_figures(generated: str) -> None:
    """Spot checks that the block renders the walk (a renderer printing constants would pass the doc check)."""
    qscanner = walk(definition_for("qscanner"), cost.DEPLOYMENTS[0].scenario)
    assert (
        f"| {cost.DEPLOYMENTS[0].label} | {qscanner.transitions} | {qscanner.lambda_requests()} |"
        in generated
    )
    assert "| qualys-api: scanned after k polls | 7 + 4·k | 28 + 11·k | 19 |" in generated


# ------------------------------------------------------------------------------------------- limits
@pytest.mark.parametrize("backend", ["qscanner", "qualys-api"])
def test_ten_images_stay_far_below_the_payload_limit(backend: str) -> None:
    """The issue's largest task definition (10 containers): every state and task input/output, measured on
    the real ScanTarget JSON and summaries, stays under a quarter of the 256 KB state limit."""
    done = cost.largest_payload(backend, 10, polls=int(cost.variable_default("max_polls")))
    assert done.largest_payload < cost.PAYLOAD_LIMIT_BYTES / 4, done.largest_payload_at
    assert done.largest_payload_at == "execution output"  # the collected outcomes, not a single step
    assert all(
        set(o) <= {"outcome", "key", "status", "scan_id", "result_location", "counts", "notified", "error"}
        for o in done.output["outcomes"]
    )  # items end small: no image JSON collected by the Map


@pytest.mark.parametrize("backend", ["qscanner", "qualys-api"])
def test_the_payload_bound_is_the_last_image_count_that_fits(backend: str) -> None:
    bound = cost.images_within_payload(backend)
    assert cost.largest_payload(backend, bound).largest_payload <= cost.PAYLOAD_LIMIT_BYTES
    assert cost.largest_payload(backend, bound + 1).largest_payload > cost.PAYLOAD_LIMIT_BYTES


def test_the_history_bounds_hold_on_the_walk() -> None:
    (timeout,) = [f for f in FORMULAS if f.timeout]
    max_polls = int(cost.variable_default("max_polls"))
    images = cost.images_within_history(timeout, max_polls)
    definition = definition_for("qualys-api")
    assert walk(definition, timeout.scenario(images, max_polls)).events <= cost.HISTORY_LIMIT_EVENTS
    assert walk(definition, timeout.scenario(images + 1, max_polls)).events > cost.HISTORY_LIMIT_EVENTS
    most = cost.max_images()
    polls = cost.polls_within_history(timeout, most)
    within = walk(definition_for("qualys-api", max_polls=polls), timeout.scenario(most, polls))
    beyond = walk(definition_for("qualys-api", max_polls=polls + 1), timeout.scenario(most, polls + 1))
    assert within.events <= cost.HISTORY_LIMIT_EVENTS < beyond.events
    # qscanner never comes near it, even with every Task retried retry.max_attempts times.
    retries = dict.fromkeys(("parse", "claim", "scan_qscanner"), cost.RETRIES)
    worst = walk(definition_for("qscanner"), Scenario("qscanner", images=most, transient=retries))
    assert worst.events < cost.HISTORY_LIMIT_EVENTS / 2


def test_map_concurrency_stays_within_the_inline_map_limit() -> None:
    low, high = cost.variable_bounds("max_concurrency")
    assert low >= 1 and high <= cost.INLINE_MAP_CONCURRENCY
    definition = definition_for("qscanner")
    assert definition["States"]["ScanImages"]["MaxConcurrency"] == cost.variable_default("max_concurrency")
    assert definition["States"]["ScanImages"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"


def test_no_task_can_outlast_the_lambda_maximum() -> None:
    for name in ("scan_timeout_seconds", "task_timeout_seconds"):
        assert cost.variable_bounds(name)[1] <= cost.LAMBDA_MAX_SECONDS, name
    main_tf = (cost.MODULE / "main.tf").read_text()
    assert re.search(r"^\s*timeout\s*=\s*var\.scan_timeout_seconds$", main_tf, re.M)
    margin, _, _ = cost.lease_terms()
    assert cost.variable_bounds("scan_timeout_seconds")[0] > margin  # qscanner always gets a positive timeout


def test_one_execution_fits_the_qualys_images_rate_limit_at_the_extremes() -> None:
    """At the largest max_concurrency and the shortest poll interval allowed, one execution's polls (every
    image slot polling once per interval, at most IMAGES_CALLS_PER_POLL calls each) stay within images/**."""
    _, concurrency = cost.variable_bounds("max_concurrency")
    interval, _ = cost.variable_bounds("poll_interval_seconds")
    calls_per_minute = concurrency * 60 / interval * cost.IMAGES_CALLS_PER_POLL
    assert calls_per_minute <= cost.QUALYS_IMAGES_PER_MINUTE


def test_the_walk_leaves_the_rendered_definition_untouched() -> None:
    definition = definition_for("qualys-api")
    before = copy.deepcopy(definition)
    walk(definition, Scenario("qualys-api", images=2, polls=2))
    assert json.dumps(definition, sort_keys=True) == json.dumps(before, sort_keys=True)
