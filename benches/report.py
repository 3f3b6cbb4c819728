#!/usr/bin/env python3
"""Writes BENCHMARKS.md from one run of scripts/bench.sh.

    python3 benches/report.py RESULTS_DIR CRITERION_DIR OUT.md

RESULTS_DIR holds the JSON lines printed by the drivers (benches/calls.rs, cli.rs, server.rs,
bindings/calls.py, bindings/calls.mjs), `timings.tsv` (stage, seconds) and `commands.txt`,
written by scripts/bench.sh. CRITERION_DIR is target/criterion: the median point estimate of
`<group>/<bench>/new/estimates.json` is used for each criterion bench; an estimate older than
`started` in timings.tsv (a bench that did not run this time) is reported as missing.
`benches/analysis.md`, the hand-written reading of the profiles, is appended verbatim.
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

RESULTS, CRITERION, OUT = (Path(a) for a in sys.argv[1:4])
HERE = Path(__file__).resolve().parent


def load(name):
    p = RESULTS / name
    if not p.exists():
        return None
    lines = [line for line in p.read_text().splitlines() if line.strip().startswith("{")]
    return json.loads(lines[-1]) if lines else None


timings = {}
if (RESULTS / "timings.tsv").exists():
    for line in (RESULTS / "timings.tsv").read_text().splitlines():
        k, _, v = line.partition("\t")
        timings[k] = float(v)
started = timings.get("started", 0)


def crit(path):
    """Median of a criterion bench, in ns (None when missing or stale)."""
    p = CRITERION / path / "new" / "estimates.json"
    if not p.exists() or p.stat().st_mtime < started:
        return None
    return json.loads(p.read_text())["median"]["point_estimate"]


# ----- formatting --------------------------------------------------------------------------


def dur(ns):
    if ns is None:
        return "—"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def rate(per_s):
    return "—" if per_s is None else f"{per_s:,.0f}/s"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def rx(r, digits=2):
    return "—" if r is None else f"{r:.{digits}f}×"


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


# ----- machine -----------------------------------------------------------------------------

cpu = ""
for line in Path("/proc/cpuinfo").read_text().splitlines():
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem_kb = 0
for line in Path("/proc/meminfo").read_text().splitlines():
    if line.startswith("MemTotal"):
        mem_kb = int(re.findall(r"\d+", line)[0])
machine = [
    ("CPUs (`nproc`)", sh("nproc")),
    ("CPU model", cpu or platform.processor()),
    ("memory", f"{mem_kb / 1024 / 1024:.1f} GiB"),
    ("kernel", platform.release()),
    ("virtualisation", sh("systemd-detect-virt 2>/dev/null") or "unknown"),
    ("rustc", sh("rustc --version")),
    ("Python", sh(f"{os.environ.get('BENCH_PYTHON', 'python3')} --version")),
    ("Node", sh("node --version")),
    ("PostgreSQL", sh("for d in /usr/lib/postgresql/*/bin; do \"$d/postgres\" --version; break; done 2>/dev/null")),
    ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
]

rows = []  # (#, measurement, versioner, baseline, ratio, target, met)
notes = []

# ----- 1. preflight + record ---------------------------------------------------------------
for sync in ("full", "normal"):
    p = load(f"pair-{sync}.json")
    v = p and p["versioner_ns"]["median"]
    b = p and p["baseline_ns"]["median"]
    r = ratio(v, b)
    rows.append(("1", f"preflight+record, `{sync.upper()}`, interleaved (median of {p['versioner_ns']['n'] if p else 0} rounds)",
                 dur(v), f"raw rusqlite {dur(b)}", rx(r), "≤ 1.5×", verdict(None if r is None else r <= 1.5)))
    cv, cb = crit(f"preflight_record/versioner/{sync}"), crit(f"preflight_record/baseline/{sync}")
    rows.append(("1", f"preflight+record, `{sync.upper()}`, criterion (benches run one after the other)",
                 dur(cv), f"raw rusqlite {dur(cb)}", rx(ratio(cv, cb)), "≤ 1.5×",
                 verdict(None if ratio(cv, cb) is None else ratio(cv, cb) <= 1.5)))

# ----- 2. growth ---------------------------------------------------------------------------
sizes = sorted(int(d.name) for d in (CRITERION / "growth" / "preflight_record").glob("*")
               if d.name.isdigit() and crit(f"growth/preflight_record/{d.name}") is not None) \
    if (CRITERION / "growth" / "preflight_record").exists() else []
growth_detail = []
for bench, label in (("preflight_record", "preflight+record"), ("state_matrix", "state matrix 50×10"),
                     ("history", "history query (newest 50 of a product in an environment)")):
    if not sizes:
        rows.append(("2", f"{label}: growth", "—", "—", "—", "≤ 1.5×", verdict(None)))
        continue
    base_n = sizes[0]
    base = crit(f"growth/{bench}/{base_n}")
    growth_detail.append((label, [(n, crit(f"growth/{bench}/{n}")) for n in sizes]))
    for n in sizes[1:]:
        v = crit(f"growth/{bench}/{n}")
        r = ratio(v, base)
        rows.append(("2", f"{label} at {n:,} deployments", dur(v), f"same at {base_n:,}: {dur(base)}",
                     rx(r), "≤ 1.5× (at 1M)" if n == sizes[-1] else "(≤ 1.5× at 1M)",
                     verdict(None if r is None else r <= 1.5) if n == sizes[-1] else "—"))

# ----- 3. dry-run check --------------------------------------------------------------------
# "Well under the cost of one indexed read per rule" is read as: at most half a read per rule.
chk, one, ev = crit("check/five_rules"), crit("check/one_indexed_read"), crit("check/evaluate_only")
r = ratio(chk, one)
rows.append(("3", "dry-run check, five rules, whole call (100k history; its reads included)", dur(chk),
             f"one indexed read {dur(one)}", rx(r, 1) if r else "—",
             "≤ 2.5× one read (½ read per rule)", verdict(None if r is None else r <= 2.5)))
r = ratio(ev / 5 if ev else None, one)
rows.append(("3", "the evaluation alone (same rules and facts, no I/O), per rule", dur(ev / 5 if ev else None),
             f"one indexed read {dur(one)}", rx(r, 2) if r else "—",
             "≤ 0.5× one read", verdict(None if r is None else r <= 0.5)))
ev1, evn = crit("check/evaluate_one_fails"), crit("check/evaluate_all_fail")
rows.append(("3", "the evaluation alone, five rules: all pass / one fails (retry search) / all fail",
             f"{dur(ev)} / {dur(ev1)} / {dur(evn)}", f"one indexed read {dur(one)}",
             "—", "reported (no target)", "—"))

# Side by side with Regorus (benches/rego.rs): the same five rules in Rego, the same facts.
scen = (("all_pass", "all pass"), ("one_fails", "one fails"), ("all_fail", "all fail"))
for engine, label in (("regorus_vm", "Regorus's bytecode VM"), ("regorus_interpreter", "Regorus's interpreter")):
    for key, name in scen:
        ours, theirs = crit(f"rego/versioner/{key}"), crit(f"rego/{engine}/{key}")
        r = ratio(theirs, ours)  # how many times faster the pure evaluation is
        vm = engine == "regorus_vm"
        rows.append(("3", f"the evaluation alone vs {label} on the same five rules in Rego, {name}",
                     dur(ours), f"{label} {dur(theirs)}", f"{r:.1f}× faster" if r else "—",
                     "≥ 5× faster" if vm else "reported (no target)",
                     verdict(None if r is None else r >= 5) if vm else "—"))

# ----- 4. ingest ---------------------------------------------------------------------------
for sync in ("full", "normal"):
    floor = crit(f"ingest/floor/{sync}")
    for threads in (1, 8):
        v = crit(f"ingest/{sync}/{threads}_threads")
        r = ratio(floor, v)  # events/s of Versioner ÷ commits/s of the floor
        rows.append(("4", f"ingest, `{sync.upper()}`, {threads} thread{'s' if threads > 1 else ''}",
                     rate(1e9 / v) if v else "—", f"raw single-row commit {rate(1e9 / floor) if floor else '—'}",
                     rx(r), "reported (no target)", "—"))

# ----- 5. bindings -------------------------------------------------------------------------
calls = {}
for lang in ("rust", "python", "node"):
    runs = [load(f"calls-{lang}-{i}.json") for i in (1, 2, 3)]
    runs = [x for x in runs if x]
    if runs:
        calls[lang] = runs


def med(lang, key):
    runs = calls.get(lang)
    if not runs:
        return None
    vals = sorted(r[key]["median"] for r in runs)
    return vals[len(vals) // 2]


# (language, its key, the Rust key it is compared with, label, target)
BINDING_ROWS = (
    ("python", "check_ns", "check_ns", "Python `check`", 1.5),
    ("node", "check_ns", "check_ns", "Node `check` (promise)", 4.0),
    ("node", "check_sync_ns", "check_ns", "Node `checkSync` (on the JavaScript thread)", 2.0),
    ("python", "track_started_ns", "track_started_ns", "Python `track_deployment` started (preflight)", None),
    ("node", "track_started_ns", "track_started_ns", "Node `track_deployment` started (preflight)", None),
    ("python", "track_completed_ns", "track_completed_ns", "Python `track_deployment` completed", None),
    ("node", "track_completed_ns", "track_completed_ns", "Node `track_deployment` completed", None),
)
for lang, key, rust_key, label, target in BINDING_ROWS:
    base = med("rust", rust_key)
    v = med(lang, key) if all(key in r for r in calls.get(lang, [])) else None
    r = ratio(v, base)
    rows.append(("5", label, dur(v), f"Rust call {dur(base)}", rx(r),
                 f"≤ {target:g}×" if target else "reported (no target)",
                 verdict(None if r is None else r <= target) if target else "—"))

# ----- 6. CLI ------------------------------------------------------------------------------
cli = load("cli.json")
if cli:
    m = cli["cli_ns"]["median"]
    rows.append(("6", f"CLI `versioner --db FILE track deployment`, whole process (median of {cli['cli_ns']['n']})",
                 dur(m), f"spawn `/bin/true` {dur(cli['spawn_true_ns']['median'])}; in process (open + track) {dur(cli['in_process_ns']['median'])}",
                 f"{rx(ratio(m, cli['spawn_true_ns']['median']), 1)} spawn; {rx(ratio(m, cli['in_process_ns']['median']), 1)} in-process",
                 "< 10 ms median", verdict(m < 10e6)))
else:
    rows.append(("6", "CLI whole process", "—", "—", "—", "< 10 ms median", verdict(None)))

# ----- 7. server ---------------------------------------------------------------------------
server_detail = []
for store in ("sqlite", "postgres"):
    s = load(f"server-{store}.json")
    if not s:
        if store == "sqlite":
            rows.append(("7", "server, SQLite", "—", "—", "—", "≥ 1× floor", verdict(None)))
        continue
    floors = [s["floor_before"]["per_s"], s["floor_after"]["per_s"]]
    floor = sum(floors) / 2
    name = "SQLite `FULL`" if store == "sqlite" else "PostgreSQL"
    # Issue 20's targets, per number of clients: group commit should beat the single-commit floor.
    targets = {1: 0.8, 8: 2.0, 32: 3.0} if store == "sqlite" else {1: 0.5, 8: 1.5, 32: 2.0}
    for run in s["runs"]:
        r = ratio(run["per_s"], floor)
        lat = run["latency_us"]
        target = targets.get(run["clients"], 1.0)
        trips = run.get("round_trips_per_event")
        rows.append(("7", f"server, {name}, {run['clients']} client{'s' if run['clients'] > 1 else ''}: events/s (p50 / p99)"
                     + ("; database round trips per event" if store == "postgres" and trips else ""),
                     f"{rate(run['per_s'])} ({lat['p50'] / 1000:.2f} / {lat['p99'] / 1000:.2f} ms)"
                     + (f"; {trips:.1f}" if store == "postgres" and trips else "")
                     + (f", **{run['errors']} errors**" if run["errors"] else ""),
                     f"single-commit floor {rate(floor)} (before {rate(floors[0])}, after {rate(floors[1])})",
                     rx(r), f"≥ {target:g}× floor", verdict(None if r is None else r >= target)))
        if store == "sqlite" and run["clients"] == 32:
            rows.append(("7", "server, SQLite `FULL`, p99 latency at 32 clients", f"{lat['p99'] / 1000:.2f} ms",
                         "—", "—", "≤ 10 ms", verdict(lat["p99"] <= 10_000)))
    server_detail.append((name, s))
    http = s.get("http")
    if http:
        srv, bare = http["server_tenths_us"]["median"] * 100, http["bare_tenths_us"]["median"] * 100
        minimal = http.get("minimal_axum_tenths_us")
        cpu = http.get("server_cpu_us_per_request")
        minimal_cpu = http.get("minimal_axum_cpu_us_per_request")
        rows.append(("7", "the HTTP layer: `GET /health` on a keep-alive connection (no key, no database), per request"
                     + (f"; CPU per request: the server {cpu:.0f} µs" if cpu else "")
                     + (f", the minimal axum app {minimal_cpu:.0f} µs" if minimal_cpu else ""),
                     dur(srv), f"bare loopback exchange {dur(bare)}"
                     + (f"; minimal axum app (a process serving as the server does: same I/O stack, one route, no layers) {dur(minimal['median'] * 100)}" if minimal else ""),
                     f"+{dur(srv - bare)}" + (f" (+{dur(srv - minimal['median'] * 100)} over minimal axum)" if minimal else ""),
                     "reported (no target)", "—"))

# ----- 8. dashboard ------------------------------------------------------------------------
dash = load("dashboard.json")
render = crit("dashboard/render_home_200x20")
rows.append(("8", "dashboard home page, 200 products × 20 environments: server-side render (from the state matrix)",
             dur(render), "—", "—", "< 50 ms", verdict(None if render is None else render < 50e6)))
state_q = crit("dashboard/state_200x20")
both = crit("dashboard/state_and_render_200x20")
rows.append(("8", "dashboard home page 200×20: the state query it is rendered from; query + render",
             f"{dur(state_q)}; {dur(both)}", "—", "—", "reported (no target)", "—"))
if dash:
    rows.append(("8", "dashboard home page 200×20: bytes transferred (gzip, as sent to browsers)",
                 f"{dash['gzip_bytes'] / 1024:.1f} KB", f"uncompressed {dash['raw_bytes'] / 1024:.1f} KB",
                 "—", "< 150 KB", verdict(dash["gzip_bytes"] < 150 * 1024)))
else:
    rows.append(("8", "dashboard home page 200×20: bytes transferred", "—", "—", "—", "< 150 KB", verdict(None)))

# ----- 9. notifications --------------------------------------------------------------------
for sync in ("full", "normal"):
    p = load(f"pair-{sync}.json")
    if p and "baseline_outbox_ns" in p:
        v, b, o = (p[k]["median"] for k in ("versioner_ns", "baseline_ns", "baseline_outbox_ns"))
        share = (o - b) / v if v else None
        rows.append(("9", f"the outbox's cost in a preflight+record round, `{sync.upper()}` "
                     f"({p['outbox_events_per_round']} events: read the chain head, hash, insert)",
                     dur(o - b), f"Versioner round {dur(v)} (raw round {dur(b)}, with the outbox {dur(o)})",
                     "—" if share is None else f"{share * 100:.1f} % of the round",
                     "≤ 10 %", verdict(None if share is None else share <= 0.10)))
    else:
        rows.append(("9", f"the outbox's cost in a preflight+record round, `{sync.upper()}`", "—", "—", "—",
                     "≤ 10 %", verdict(None)))
deliver, raw_post = crit("delivery/webhook_50_events"), crit("delivery/raw_post_50_events")
rows.append(("9", "notification delivery to a local webhook receiver, 50 events a run: events/s",
             rate(50e9 / deliver) if deliver else "—",
             f"raw signed POSTs of the same bodies {rate(50e9 / raw_post)}" if raw_post else "—",
             rx(ratio(raw_post, deliver)), "reported (no target)", "—"))
ch = load("channels.json")
c0, c3 = (ch["no_channel_ns"], ch["three_channels_ns"]) if ch else (None, None)
rows.append(("9", f"recording a deployment with 3 subscribed channels vs none (interleaved, median of {ch['rounds'] if ch else 0} each)",
             dur(c3), f"no channel {dur(c0)}", rx(ratio(c3, c0)), "≤ 1.1×",
             verdict(None if ratio(c3, c0) is None else ratio(c3, c0) <= 1.1)))

# ----- 10. history import ------------------------------------------------------------------
imp = load("import.json")
if imp:
    r = imp["ratio"]
    rows.append(("10", f"history import of {imp['n']:,} events (`versioner import`: parse, validate, apply in one transaction)",
                 f"{rate(imp['import']['per_s'])} ({imp['import']['secs']:.1f} s)",
                 f"raw bulk insert of the same rows {rate(imp['floor']['per_s'])} ({imp['floor']['secs']:.1f} s)",
                 rx(r), "≥ 0.5× floor", verdict(r >= 0.5)))
else:
    rows.append(("10", "history import", "—", "—", "—", "≥ 0.5× floor", verdict(None)))

# ----- 10. the four keys over the largest history -------------------------------------------
if sizes:
    n = sizes[-1]
    led = crit(f"growth/dora_all_ledger/{n}")
    for bench, label, target in (
            ("dora_all", "every environment, the whole year (every deployment in scope)", "< 100 ms"),
            ("dora_last_env", "every product in one environment (each version's entries read)", "(reported)"),
            ("dora_all_weekly", "every environment, with its weekly series (57 cut days read raw)", "(reported)"),
            ("dora_one", "one product in one environment", "(reported)")):
        v = crit(f"growth/{bench}/{n}")
        met = verdict(None if v is None else v < 100e6) if target == "< 100 ms" else "—"
        rows.append(("10", f"DORA query over {n:,} deployments, {label} (rollups)", dur(v),
                     f"from the whole ledger (every environment) {dur(led)}", rx(ratio(v, led), 3),
                     target, met))

# ----- write -------------------------------------------------------------------------------
out = []
w = out.append
w("# Benchmarks")
w("")
w("Generated by `scripts/bench.sh` (do not edit by hand: run it again). Every speed figure is given")
w("as a ratio to a baseline measured **in the same run**, because this machine is shared and")
w("noisy (fsync-bound figures move 2–7× within minutes; see `../shared/reference/storage-limits.md`).")
w("")
w("## Machine")
w("")
w("| item | value |")
w("|---|---|")
for k, v in machine:
    w(f"| {k} | {v} |")
w("")
w("## Commands")
w("")
w("```sh")
w("./scripts/bench.sh        # builds (release), runs everything below, writes BENCHMARKS.md")
w("```")
w("")
if (RESULTS / "commands.txt").exists():
    w("What it ran, in order:")
    w("")
    w("```text")
    w((RESULTS / "commands.txt").read_text().rstrip())
    w("```")
    w("")
if timings:
    stages = [(k, v) for k, v in timings.items() if k not in ("started",)]
    w("Wall time per stage: " + ", ".join(f"{k} {v:.0f} s" for k, v in stages) + ".")
    w("")
w("## Results")
w("")
w("| # | measurement | Versioner | baseline (same run) | ratio | target | |")
w("|---|---|---|---|---|---|---|")
for row in rows:
    w("| " + " | ".join(row) + " |")
w("")
w("Ratios: 1–3 and 5 are Versioner's time ÷ the baseline's time (lower is better); 4 and 7 are")
w("Versioner's events/s ÷ the floor's commits/s (higher is better); 6 is the whole process's time ÷")
w("the baseline's; 9 gives the outbox's share of a round, delivery's events/s ÷ raw POSTs/s, and")
w("recording's time with channels ÷ without; 10 is the import's events/s ÷ the raw bulk insert's")
w("rows/s (higher is better).")
w("")
w("### Details")
w("")
for sync in ("full", "normal"):
    p = load(f"pair-{sync}.json")
    if p:
        v, b = p["versioner_ns"], p["baseline_ns"]
        w(f"- **1, `{sync.upper()}` interleaved**: Versioner p50 {dur(v['p50'])}, p99 {dur(v['p99'])}, mean {dur(v['mean'])}; "
          f"baseline p50 {dur(b['p50'])}, p99 {dur(b['p99'])}, mean {dur(b['mean'])}. A round is a `started` "
          "(five rules evaluated) then a `completed`: two transactions, two commits.")
for label, series in growth_detail:
    w(f"- **2, {label}**: " + ", ".join(f"{n:,}: {dur(v)}" for n, v in series) + ".")
if calls:
    parts = []
    for lang in ("rust", "python", "node"):
        if lang in calls:
            parts.append(f"{lang}: check " + " / ".join(dur(r["check_ns"]["median"]) for r in calls[lang])
                         + ", started " + " / ".join(dur(r["track_started_ns"]["median"]) for r in calls[lang])
                         + ", completed " + " / ".join(dur(r["track_completed_ns"]["median"]) for r in calls[lang]))
    w("- **5, per-call medians of each repetition** (the table uses the median of the repetitions; "
      "the three languages run one after the other, repeated): " + "; ".join(parts) + ".")
if cli:
    w(f"- **6**: CLI p50 {dur(cli['cli_ns']['p50'])}, p99 {dur(cli['cli_ns']['p99'])}, min {dur(cli['cli_ns']['min'])}; "
      f"`started` runs only (five-rule preflight) median {dur(cli['cli_started_ns']['median'])}.")
for name, s in server_detail:
    fb, fa = s["floor_before"], s["floor_after"]
    w(f"- **7, {name}**: floor p50 {fb['latency_us']['p50']} µs / p99 {fb['latency_us']['p99']} µs before, "
      f"{fa['latency_us']['p50']} µs / {fa['latency_us']['p99']} µs after. Runs: "
      + "; ".join(f"{r['clients']} client{'s' if r['clients'] > 1 else ''} {r['requests']} requests in {r['seconds']:.1f} s, "
                  f"p50 {r['latency_us']['p50'] / 1000:.2f} ms, p99 {r['latency_us']['p99'] / 1000:.2f} ms, max {r['latency_us']['max'] / 1000:.1f} ms"
                  for r in s["runs"]) + ".")
w("")
analysis = HERE / "analysis.md"
if analysis.exists():
    w(analysis.read_text().rstrip())
    w("")
OUT.write_text("\n".join(out) + "\n")
print(f"wrote {OUT}")
