"""5. Bindings, the Python side: the calls `benches/calls.rs measure` times in Rust, through
the `versioner` Python binding (a release wheel in the bench venv), timed the same way: each
call on its own after a warm-up, median per call. Prints one JSON line.

    python benches/bindings/calls.py FIXTURE_DB N
"""

import json
import sys
import time

import versioner


def summary(samples):
    s = sorted(samples)
    n = len(s)
    at = lambda q: s[round((n - 1) * q)]  # noqa: E731
    return {"n": n, "median": at(0.5), "p50": at(0.5), "p99": at(0.99),
            "min": s[0], "max": s[-1], "mean": sum(s) / n}


def main():
    db, n = sys.argv[1], int(sys.argv[2])
    vr = versioner.Versioner(db)  # synchronous="full", the default, as in Rust and Node
    clock = time.perf_counter_ns

    def check():
        v = vr.check(product_name="p0", version="bench", environment_name="e9", deployed_by="dana")
        assert v.allowed, v

    for _ in range(n // 10):
        check()
    checks = []
    for _ in range(n):
        t = clock()
        check()
        checks.append(clock() - t)

    rounds = max(n // 10, 50)
    started, completed = [], []
    for i in range(rounds + rounds // 10):
        t = clock()
        d = vr.track_deployment(product_name="p0", version="bench", environment_name="e9",
                                status="started", deployed_by="dana")
        ts = clock() - t
        assert d.preflight is not None and d.preflight.verdict.allowed
        t = clock()
        vr.track_deployment(product_name="p0", version="bench", environment_name="e9",
                            status="completed")
        tc = clock() - t
        if i >= rounds // 10:
            started.append(ts)
            completed.append(tc)
    print(json.dumps({"lang": "python", "check_ns": summary(checks),
                      "track_started_ns": summary(started),
                      "track_completed_ns": summary(completed)}))


main()
