"""The results table: throughput and latency per call and concurrency, with the ratios to
pgbench running the same SQL and to the no-op RPC."""

from bench.loads import Measurement

NOOP = "Health/Check (no-op)"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _ratio(numerator: float, denominator: float | None) -> str:
    return "" if not denominator else f"{numerator / denominator:.2f}"


def table(measurements: list[Measurement]) -> str:
    """A Markdown table, one row per tool, call and concurrency."""
    by_key = {(m.tool, m.call, m.concurrency): m for m in measurements}
    lines = [
        "| call | c | tool | req/s | p50 ms | p99 ms | mean ms | ok | x pgbench same SQL "
        "| x no-op RPC |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        mean = m.mean()
        versus_pg = versus_noop = ""
        if m.tool == "h2load":
            pg = by_key.get(("pgbench", m.call, m.concurrency))
            noop = by_key.get(("h2load", NOOP, m.concurrency))
            versus_pg = _ratio(m.rate, pg.rate if pg else None)
            versus_noop = "" if m.call == NOOP else _ratio(m.rate, noop.rate if noop else None)
        lines.append(
            f"| {m.call} | {m.concurrency} | {m.tool} | {m.rate:,.0f} "
            f"| {_ms(m.percentile(0.50))} | {_ms(m.percentile(0.99))} | {_ms(mean)} "
            f"| {m.completed:,} | {versus_pg} | {versus_noop} |"
        )
    lines.append(
        "\nLatencies are from each tool's per-request log: h2load --log-file, pgbench --log. "
        "n/a: the log is not trustworthy (pgbench reads its clock lazily and logs 0 µs for "
        "more than 1% of such short transactions), so no percentile is given."
    )
    return "\n".join(lines)


def targets(measurements: list[Measurement]) -> list[str]:
    """The issue's targets, each with the best ratio reached and whether it is met."""
    by_key = {(m.tool, m.call, m.concurrency): m for m in measurements}
    checks = (
        ("GetAccount >= 0.7 x no-op RPC", "GetAccount", ("h2load", NOOP), 0.7),
        (
            "CreateTransaction >= 1.0 x pgbench same transaction",
            "CreateTransaction",
            ("pgbench", "CreateTransaction"),
            1.0,
        ),
    )
    lines = []
    for title, call, (tool, reference), goal in checks:
        ratios = {
            m.concurrency: m.rate / ref.rate
            for m in measurements
            if m.tool == "h2load" and m.call == call
            if (ref := by_key.get((tool, reference, m.concurrency))) and ref.rate
        }
        if not ratios:
            continue
        shown = ", ".join(f"c={c}: {r:.2f}" for c, r in sorted(ratios.items()))
        verdict = "met" if min(ratios.values()) >= goal else "target for later, not yet met"
        lines.append(f"- {title}: {shown} -> {verdict}")
    return lines
