"""Fargate workflow: state transitions per image, walked over the rendered workflow.asl.json (module defaults).

The figures are calculated, not timed (tests/harness/fargate_cost.py; docs/fargate.md "Cost and limits"):
per image on each path (scanned or deduplicated, per backend; qualys-api at 3 polls and at a poll timeout),
and the list price of 1,000 deployments of a task definition with 3 images, new and redeployed.
"""

from __future__ import annotations

from tests.harness import fargate_cost as cost

POLLS = 3


def run() -> list[tuple[str, str]]:
    rows = []
    for formula in cost.FORMULAS:
        if formula.failing:
            continue
        done = cost.per_image(formula, POLLS)  # a poll timeout polls max_polls times
        polls = f", k = {done.invocations['poll_scan']}" if formula.b else ""
        rows.append(
            (
                f"transitions per image, {formula.label}{polls}",
                f"{done.transitions - cost.EXECUTION_TRANSITIONS} ({done.events - cost.EXECUTION_EVENTS} "
                "history events)",
            )
        )
    memory = int(cost.variable_default("memory_size"))
    for deployment in cost.DEPLOYMENTS:
        done = cost.walk(cost.definition_for(deployment.scenario.backend), deployment.scenario)
        states, lambdas = done.cost(memory)
        rows.append(
            (
                f"per 1,000 deployments, {deployment.label}",
                f"${(states + lambdas) * 1000:.2f} ({done.transitions} transitions each)",
            )
        )
    return rows
