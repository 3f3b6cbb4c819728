"""One Versioner shared by many threads; the GIL is released during core calls."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import versioner
from conftest import deploy


def test_many_threads_track_concurrently(vr: versioner.Versioner) -> None:
    def ship(i: int) -> str:
        with vr.deploying(product_name=f"svc{i % 5}", version=str(i), environment_name=f"env{i % 3}"):
            pass
        return vr.history(product_name=f"svc{i % 5}", limit=1000)[0].id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(ship, range(80)))
    assert len(ids) == 80
    assert len(vr.history(limit=1000)) == 80
    assert all(d.status == "completed" for d in vr.history(limit=1000))
    assert len(vr.products()) == 5


def test_only_one_of_many_concurrent_starts_passes_a_max_1_rule(db_path: Path) -> None:
    vr = versioner.Versioner(db_path)
    vr.add_rule({"name": "one at a time", "type": "concurrency", "max": 1})
    barrier = threading.Barrier(8)

    def start(i: int) -> str:
        barrier.wait()
        try:
            deploy(vr, f"1.{i}", "prod", "started")
            return "started"
        except versioner.DeploymentBlockedError as e:
            return e.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(start, range(8)))
    assert results.count("started") == 1
    assert results.count("CONCURRENT_DEPLOYMENT") == 7


def test_threads_with_separate_instances_on_one_file(db_path: Path) -> None:
    def work(i: int) -> int:
        own = versioner.Versioner(db_path)
        deploy(own, str(i), "dev", product=f"p{i}")
        return len(own.products())

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(12)))
    assert len(versioner.Versioner(db_path).products()) == 12


def test_python_threads_run_while_the_core_works(db_path: Path) -> None:
    """A pure-Python thread keeps making progress while others are inside core calls."""
    vr = versioner.Versioner(db_path)
    stop = threading.Event()
    ticks = 0

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        for i in range(30):
            deploy(vr, str(i), "dev")
    finally:
        stop.set()
        t.join()
    assert ticks > 0
