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


def target(name: str, value: float, goal: str, holds: bool) -> str:
    return f"- {name}: {value:.2f} (target {goal}) {'holds' if holds else 'MISSED'}"


def share(part: float, whole: float) -> float:
    """part / whole; a baseline that stalled (0 req/s) is beaten by anything that answers."""
    if whole == 0:
        return float("inf") if part > 0 else 0.0
    return part / whole


def targets(summaries: list[Summary]) -> list[str]:
    s = {summary.row.key: summary for summary in summaries}
    notes: list[str] = []
    if "4" in s and "2" in s:
        notes.append(
            target(
                "full chain / tutorial",
                share(s["4"].rps, s["2"].rps),
                ">= 1.0",
                s["4"].rps >= s["2"].rps,
            )
        )
    if "4" in s and "2p" in s:
        notes.append(
            target(
                "full chain / tutorial, pool enlarged",
                share(s["4"].rps, s["2p"].rps),
                ">= 1.0",
                s["4"].rps >= s["2p"].rps,
            )
        )
    if "4" in s and "3" in s:
        notes.append(
            target(
                "full chain / overridden",
                share(s["4"].rps, s["3"].rps),
                ">= 0.85",
                s["4"].rps >= 0.85 * s["3"].rps,
            )
        )
    if "5" in s and "4" in s:
        notes.append(
            target(
                "storm reads / full chain",
                share(s["5"].rps, s["4"].rps),
                ">= 0.7",
                s["5"].rps >= 0.7 * s["4"].rps,
            )
        )
        notes.append(
            target(
                "storm p99 / full chain p99",
                share(s["5"].p99_ms, s["4"].p99_ms),
                "<= 2",
                s["5"].p99_ms <= 2 * s["4"].p99_ms,
            )
        )
    if "6a" in s and "6b" in s:
        notes.append(
            target(
                "after_id page time / first page time",
                share(s["6a"].rps, s["6b"].rps),
                "<= 1.2",
                s["6a"].rps <= 1.2 * s["6b"].rps,
            )
        )
    if "6a" in s and "6c" in s:
        notes.append(
            "- offset page time / first page time:"
            f" {share(s['6a'].rps, s['6c'].rps):.2f} (no target)"
        )
    for key in ("2c", "4c"):
        if key in s:
            notes.append(stall_note(s[key]))
    return notes


def stall_note(summary: Summary) -> str:
    stalled = " STALLED: no request completed" if summary.requests == 0 else ""
    return (
        f"- {summary.row.label} (runs of >= {summary.row.min_seconds} s): {summary.errors}"
        " non-2xx + socket errors, timeouts included,"
        f" in {summary.requests:,} requests (target: 0){stalled}"
    )


def rss_lines(before: dict[int, int], after: dict[int, int], requests_between: int) -> list[str]:
    lines = [
        "- RSS of the full-chain hero-api processes (KiB), after the rounds"
        f" -> after {requests_between:,} more requests:"
    ]
    for pid in sorted(set(before) | set(after)):
        old, new = before.get(pid, 0), after.get(pid, 0)
        growth = (new - old) / old * 100 if old else float("nan")
        lines.append(f"  - pid {pid}: {old:,} -> {new:,} ({growth:+.1f}%, target < +5%)")
    return lines
