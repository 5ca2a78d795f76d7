"""Turn wrk rounds into medians and min-max, and render the markdown table and target notes."""

from dataclasses import dataclass
from statistics import median

from bench.plan import Row
from bench.wrk import WrkResult


@dataclass(frozen=True)
class Summary:
    row: Row
    rps: float
    rps_min: float
    rps_max: float
    p99_ms: float
    errors: int
    requests: int


def summarize(row: Row, results: list[WrkResult]) -> Summary:
    rates = [result.requests_per_second for result in results]
    return Summary(
        row=row,
        rps=median(rates),
        rps_min=min(rates),
        rps_max=max(rates),
        p99_ms=median(result.p99_ms for result in results),
        errors=sum(result.errors for result in results),
        requests=sum(result.requests for result in results),
    )


def ratio(value: float, baseline: Summary | None) -> str:
    if baseline is None or baseline.rps == 0:
        return "-"
    return f"{value / baseline.rps:.2f}x"


def table(summaries: list[Summary]) -> str:
    by_key = {summary.row.key: summary for summary in summaries}
    lines = [
        "| configuration | req/s (median) | min-max | p99 ms (median) | vs tutorial (2)"
        " | vs tutorial 2p | vs overridden (3) | non-2xx + socket errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for summary in summaries:
        lines.append(
            f"| {summary.row.label} | {summary.rps:,.0f}"
            f" | {summary.rps_min:,.0f}-{summary.rps_max:,.0f}"
            f" | {summary.p99_ms:.1f} | {ratio(summary.rps, by_key.get('2'))}"
            f" | {ratio(summary.rps, by_key.get('2p'))}"
            f" | {ratio(summary.rps, by_key.get('3'))} | {summary.errors} |"
        )
    return "\n".join(lines)


def share(part: float, whole: float) -> float:
    """part / whole; a baseline that stalled (0 req/s) is beaten by anything that answers."""
    if whole == 0:
        return float("inf") if part > 0 else 0.0
    return part / whole


@dataclass(frozen=True)
class Target:
    name: str
    part: str
    whole: str
    goal: float
    at_most: bool = False
    """True: the ratio must stay at or below the goal (times); False: at or above (rates)."""
    measure: str = "rps"


TARGETS = (
    Target("full chain / tutorial", "4", "2", 1.0),
    Target("full chain / tutorial, pool enlarged", "4", "2p", 1.0),
    Target("full chain / overridden", "4", "3", 0.85),
    Target("storm reads / full chain", "5", "4", 0.7),
    Target("storm p99 / full chain p99", "5", "4", 2.0, at_most=True, measure="p99_ms"),
    # a page's time is 1 / its rate: first page rate over deep page rate
    Target("after_id page time / first page time", "6a", "6b", 1.2, at_most=True),
)


def target_note(goal: Target, s: dict[str, Summary]) -> str:
    value = share(getattr(s[goal.part], goal.measure), getattr(s[goal.whole], goal.measure))
    holds = value <= goal.goal if goal.at_most else value >= goal.goal
    sign = "<=" if goal.at_most else ">="
    return (
        f"- {goal.name}: {value:.2f} (target {sign} {goal.goal:g}) {'holds' if holds else 'MISSED'}"
    )


def targets(summaries: list[Summary]) -> list[str]:
    s = {summary.row.key: summary for summary in summaries}
    notes = [target_note(goal, s) for goal in TARGETS if goal.part in s and goal.whole in s]
    if "6a" in s and "6c" in s:
        notes.append(
            "- offset page time / first page time:"
            f" {share(s['6a'].rps, s['6c'].rps):.2f} (no target)"
        )
    notes += [stall_note(s[key]) for key in ("2c", "4c") if key in s]
    return notes


def stall_note(summary: Summary) -> str:
    stalled = " STALLED: no request completed" if summary.requests == 0 else ""
    return (
        f"- {summary.row.label} (runs of >= {summary.row.min_seconds} s): {summary.errors}"
        " non-2xx + socket errors, timeouts included,"
        f" in {summary.requests:,} requests (target: 0){stalled}"
    )


def rss_lines(before: int, after: int, requests_between: int) -> list[str]:
    growth = (after - before) / before * 100 if before else float("nan")
    return [
        "- RSS of the full-chain hero-api worker (one process; KiB), after the rounds"
        f" -> after {requests_between:,} more requests:"
        f" {before:,} -> {after:,} ({growth:+.1f}%, target < +5%)"
    ]
