"""Parse qscanner's SARIF 2.1 report (`*-Report.sarif.json`) into normalized findings.

Severity precedence (DESIGN §4): the result's `properties.severity`, else its rule's `properties.severity`,
else the SARIF `level`. A severity that is present but not 1-5 (or a Qualys label) is ignored in favour of the
next source rather than guessed. The other fields (`qid`, `cves`, `packageName`, `installedVersion`,
`fixedVersion`, `cvssScore`) come from the result's properties, else its rule's.
"""

from __future__ import annotations

import json
import math
from typing import Any

from qscan.results.model import Finding, Severity

# SARIF levels ordered like Qualys severities; "warning" is SARIF's default when `level` is absent.
LEVEL_SEVERITY: dict[str, Severity] = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.INFO,
}
_LABELS: dict[str, Severity] = {s.label: s for s in Severity} | {"informational": Severity.INFO}
_MAX_TEXT = 500


class SarifError(ValueError):
    """The SARIF document is not usable; the message says why (never contains file contents)."""


def parse_sarif(document: bytes | str) -> list[Finding]:
    """Return the findings of every run in a SARIF 2.1 document, or raise `SarifError`."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SarifError(f"SARIF is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise SarifError("SARIF top level is not an object")
    version = data.get("version")
    if version is not None and not (isinstance(version, str) and version.startswith("2.1")):
        raise SarifError("SARIF version is not 2.1")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise SarifError("SARIF has no 'runs' list")
    findings: list[Finding] = []
    for index, run in enumerate(runs):
        if not isinstance(run, dict):
            raise SarifError(f"SARIF runs[{index}] is not an object")
        findings.extend(_parse_run(run, index))
    return findings


def _parse_run(run: dict[str, Any], run_index: int) -> list[Finding]:
    rules = _rules(run, run_index)
    by_id = {rule["id"]: rule for rule in rules if isinstance(rule.get("id"), str)}
    results = run.get("results", [])
    if results is None:
        return []
    if not isinstance(results, list):
        raise SarifError(f"SARIF runs[{run_index}].results is not a list")
    findings = []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise SarifError(f"SARIF runs[{run_index}].results[{index}] is not an object")
        findings.append(_finding(result, _rule_for(result, rules, by_id)))
    return findings


def _rules(run: dict[str, Any], run_index: int) -> list[dict[str, Any]]:
    tool = run.get("tool")
    driver = tool.get("driver") if isinstance(tool, dict) else None
    rules = driver.get("rules") if isinstance(driver, dict) else None
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise SarifError(f"SARIF runs[{run_index}].tool.driver.rules is not a list")
    return [rule if isinstance(rule, dict) else {} for rule in rules]


def _rule_for(
    result: dict[str, Any], rules: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    index = result.get("ruleIndex")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(rules):
        return rules[index]
    rule_id = result.get("ruleId")
    if isinstance(rule_id, str) and rule_id in by_id:
        return by_id[rule_id]
    return {}


def _props(obj: dict[str, Any]) -> dict[str, Any]:
    props = obj.get("properties")
    return props if isinstance(props, dict) else {}


def severity_of(value: Any) -> Severity | None:
    """A Qualys severity from 1-5 (int, integral float or numeric string) or a label; None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _LABELS:
            return _LABELS[text]
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and value == int(value) and 1 <= value <= 5:
        return Severity(int(value))
    return None


def _severity(result: dict[str, Any], rule: dict[str, Any]) -> Severity:
    for candidate in (_props(result).get("severity"), _props(rule).get("severity")):
        severity = severity_of(candidate)
        if severity is not None:
            return severity
    level = result.get("level")
    if level is None:
        default = rule.get("defaultConfiguration")
        level = default.get("level") if isinstance(default, dict) else None
    if isinstance(level, str) and level in LEVEL_SEVERITY:
        return LEVEL_SEVERITY[level]
    return LEVEL_SEVERITY["warning"]


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:_MAX_TEXT]


def _first(key: str, *sources: dict[str, Any]) -> Any:
    for source in sources:
        if source.get(key) is not None:
            return source[key]
    return None


def _cves(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[Any] = value.replace(",", " ").split()
    elif isinstance(value, list):
        items = value
    else:
        return ()
    return tuple(dict.fromkeys(t for t in (_text(item) for item in items) if t))


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) and 0.0 <= score <= 10.0 else None


def _title(result: dict[str, Any], rule: dict[str, Any]) -> str | None:
    for holder in (rule.get("shortDescription"), result.get("message")):
        if isinstance(holder, dict) and _text(holder.get("text")):
            return _text(holder.get("text"))
    return _text(rule.get("name"))


def _finding(result: dict[str, Any], rule: dict[str, Any]) -> Finding:
    rp, lp = _props(result), _props(rule)
    return Finding(
        qid=_text(_first("qid", rp, lp)) or _text(result.get("ruleId")) or _text(rule.get("id")),
        title=_title(result, rule),
        severity=_severity(result, rule),
        cves=_cves(_first("cves", rp, lp)),
        package_name=_text(_first("packageName", rp, lp)),
        installed_version=_text(_first("installedVersion", rp, lp)),
        fixed_version=_text(_first("fixedVersion", rp, lp)),
        cvss_score=_score(_first("cvssScore", rp, lp)),
    )
