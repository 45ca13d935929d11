#!/usr/bin/env python3
"""Turns the figures of a scripts/bench run into bench/results/REPORT.md and
its plots (PNG, drawn by gnuplot).

    bench/report.py --figures FIGURES.tsv --out DIR [--meta META.tsv]

FIGURES.tsv holds one figure a line, tab-separated:

    figure  system  x  metric  value

as compare_bench and scripts/bench write them ('#' starts a comment). The
systems are regledger-embedded, regledger-kafka and postgresql; every
regledger figure is reported as a ratio of PostgreSQL's at the same x.
META.tsv holds key<TAB>value lines about the run (machine, commit, command)
that head the report.

Only the Python standard library and the gnuplot program are used.
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys

BASELINE = "postgresql"
SYSTEMS = ["regledger-embedded", "regledger-kafka", BASELINE]
LABELS = {
    "regledger-embedded": "regledger, embedded log",
    "regledger-kafka": "regledger, Kafka log",
    BASELINE: "PostgreSQL (libpq, one transaction a command)",
}
# Throughput goals of the comparison, as ratios of the baseline.
GOALS = {"regledger-embedded": 5.0, "regledger-kafka": 2.0}
# Metrics where less is better (a ratio then reads baseline / ours).
LOWER_IS_BETTER = {"p50_ms", "p99_ms", "seconds", "rss_mib", "cpu_us_per_command", "peak_rss_mib"}


def load_figures(path):
    """figure -> metric -> system -> {x: value}"""
    table = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(dict)))
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 5:
                sys.exit(f"{path}:{number}: expected 5 tab-separated fields, got {len(parts)}")
            figure, system, x, metric, value = parts
            try:
                table[figure][metric][system][float(x)] = float(value)
            except ValueError:
                sys.exit(f"{path}:{number}: x and value must be numbers")
    return table


def load_meta(path):
    meta = collections.OrderedDict()
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                if key:
                    meta[key] = value
    return meta


def number(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}"


def x_text(x):
    return f"{x:,.0f}" if x == int(x) else f"{x:g}"


def ratio(metric, ours, base):
    if ours is None or base is None or ours == 0 or base == 0:
        return None
    return base / ours if metric in LOWER_IS_BETTER else ours / base


def ratio_text(r):
    return "–" if r is None else f"{r:.2f}×"


def comparison_table(table, figure, metric, x_label, unit):
    """A Markdown table: one row per x, each system's value, and each
    regledger system's ratio of the baseline (higher is better)."""
    series = table.get(figure, {}).get(metric, {})
    systems = [s for s in SYSTEMS if s in series]
    if not systems:
        return []
    xs = sorted({x for s in systems for x in series[s]})
    ours = [s for s in systems if s != BASELINE]
    head = [x_label] + [f"{LABELS[s]} ({unit})" for s in systems]
    if BASELINE in series:
        head += [f"{s.replace('regledger-', '')} ÷ PostgreSQL" for s in ours]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for x in xs:
        row = [x_text(x)] + [number(series[s].get(x)) for s in systems]
        if BASELINE in series:
            row += [ratio_text(ratio(metric, series[s].get(x), series[BASELINE].get(x))) for s in ours]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def plot(out_dir, name, title, x_label, y_label, curves, logx=False, logy=False):
    """curves: [(label, {x: y})]. Writes NAME.png with gnuplot; returns the
    file name, or None when there is nothing to draw or no gnuplot."""
    curves = [(label, pts) for label, pts in curves if pts]
    if not curves or shutil.which("gnuplot") is None:
        return None
    data_files = []
    for i, (_, pts) in enumerate(curves):
        path = os.path.join(out_dir, f".{name}.{i}.dat")
        with open(path, "w", encoding="utf-8") as f:
            for x in sorted(pts):
                f.write(f"{x} {pts[x]}\n")
        data_files.append(path)
    png = f"{name}.png"
    script = [
        "set terminal pngcairo size 900,540 noenhanced font ',11'" if has_pngcairo() else "set terminal png size 900,540",
        f"set output '{os.path.join(out_dir, png)}'",
        f"set title '{title}'",
        f"set xlabel '{x_label}'",
        f"set ylabel '{y_label}'",
        "set key below",
        "set grid",
    ]
    if logx:
        script.append("set logscale x")
    if logy:
        script.append("set logscale y")
    else:
        script.append("set yrange [0:*]")
    parts = [f"'{path}' using 1:2 with linespoints lw 2 title '{label}'" for path, (label, _) in zip(data_files, curves)]
    script.append("plot " + ", ".join(parts))
    done = subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, capture_output=True)
    if done.returncode != 0:
        sys.exit(f"gnuplot failed on {png}:\n{done.stderr}")
    for path in data_files:
        os.remove(path)
    return png


_pngcairo = None


def has_pngcairo():
    global _pngcairo
    if _pngcairo is None:
        probe = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        _pngcairo = "pngcairo" in (probe.stdout + probe.stderr)
    return _pngcairo


def curves_of(table, figure, metric):
    series = table.get(figure, {}).get(metric, {})
    return [(LABELS[s], dict(series[s])) for s in SYSTEMS if s in series]


def headline(table):
    """The throughput ratios at the highest client count both ran."""
    series = table.get("throughput", {}).get("commands_per_s", {})
    base = series.get(BASELINE, {})
    lines = []
    for system in ("regledger-embedded", "regledger-kafka"):
        ours = series.get(system, {})
        common = sorted(set(ours) & set(base))
        if not common:
            continue
        best = max(common, key=lambda x: ours[x] / base[x] if base[x] else 0)
        top = common[-1]
        r_top = ratio("commands_per_s", ours[top], base[top])
        r_best = ratio("commands_per_s", ours[best], base[best])
        goal = GOALS[system]
        verdict = "met" if r_top is not None and r_top >= goal else "not met"
        lines.append(
            f"- **{LABELS[system]}**: {number(ours[top])} durable commands/s against PostgreSQL's "
            f"{number(base[top])} at {x_text(top)} clients: **{ratio_text(r_top)}** (goal ≥ {goal:g}×: {verdict}); "
            f"widest at {x_text(best)} clients, {ratio_text(r_best)}."
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figures", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--meta")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    table = load_figures(args.figures)
    meta = load_meta(args.meta)

    md = ["# regledger against PostgreSQL", ""]
    md += ["Written by `scripts/bench` (bench/report.py); every figure below comes from the same run on the same machine.", ""]
    if meta:
        md += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in meta.items()] + [""]

    md += ["## Headline", ""] + (headline(table) or ["- no throughput figures in this run"]) + [""]

    sections = [
        ("throughput", "commands_per_s", "clients", "commands/s",
         "Durable commands/s, closed loop (each client sends its next command when the last is durable)"),
        ("throughput", "p99_ms", "clients", "ms", "p99 command latency in the same runs"),
        ("throughput", "cpu_us_per_command", "clients", "µs",
         "CPU per command (the benchmark process; for PostgreSQL the client side only)"),
        ("throughput", "rss_mib", "clients", "MiB", "Resident memory of the system under test after the run"),
        ("latency", "p50_ms", "commands/s", "ms", "p50 latency at fixed arrival rates (from the instant each command was due)"),
        ("latency", "p99_ms", "commands/s", "ms", "p99 latency at fixed arrival rates"),
        ("query", "requests_per_s", "clients", "requests/s", "Point queries (one registration by id), closed loop"),
        ("query", "p99_ms", "clients", "ms", "p99 point-query latency"),
        ("registrations", "commands_per_s", "registrations", "commands/s",
         "Durable commands/s as the store grows (every registration created beforehand)"),
        ("registrations", "p99_ms", "registrations", "ms", "p99 command latency as the store grows"),
        ("rebuild", "seconds", "events", "s",
         "Re-deriving every read model from the history (regledger: rebuild; PostgreSQL: the state tables from the audit table)"),
        ("rebuild", "events_per_s", "events", "events/s", "Rebuild speed"),
    ]
    for figure, metric, x_label, unit, title in sections:
        rows = comparison_table(table, figure, metric, x_label, unit)
        if rows:
            md += [f"### {title}", ""] + rows + [""]

    plots = [
        ("clients-throughput", "Durable commands/s by clients", "clients", "commands/s", "throughput", "commands_per_s", True, True),
        ("clients-p99", "p99 command latency by clients", "clients", "ms", "throughput", "p99_ms", True, True),
        ("registrations-throughput", "Durable commands/s by registrations in the store", "registrations", "commands/s",
         "registrations", "commands_per_s", True, False),
        ("registrations-p99", "p99 command latency by registrations in the store", "registrations", "ms",
         "registrations", "p99_ms", True, False),
        ("latency-p99", "p99 latency at fixed arrival rates", "commands/s", "ms", "latency", "p99_ms", False, True),
        ("rebuild-seconds", "Rebuild time by history size", "events", "s", "rebuild", "seconds", True, True),
        ("query-throughput", "Point queries/s by clients", "clients", "requests/s", "query", "requests_per_s", True, False),
    ]
    drawn = []
    for name, title, x_label, y_label, figure, metric, logx, logy in plots:
        png = plot(args.out, name, title, x_label, y_label, curves_of(table, figure, metric), logx, logy)
        if png:
            drawn.append((title, png))
    if drawn:
        md += ["## Plots", ""] + [f"![{title}]({png})" for title, png in drawn] + [""]
    elif shutil.which("gnuplot") is None:
        md += ["(No plots: gnuplot is not installed.)", ""]

    with open(os.path.join(args.out, "REPORT.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    print(f"wrote {os.path.join(args.out, 'REPORT.md')} and {len(drawn)} plots")


if __name__ == "__main__":
    main()
