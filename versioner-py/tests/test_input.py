"""Bad input gives a clear error naming the field — never a crash."""

from __future__ import annotations

import math
import sys
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List

import pytest

import versioner
from conftest import deploy


# PyO3 names the argument of a wrong-typed str/bool in a note (Python >= 3.11 has notes).
NAMED = ".*" if sys.version_info < (3, 11) else None


def test_wrong_argument_types_are_type_errors(vr: versioner.Versioner) -> None:
    bad: Any = vr
    with pytest.raises(TypeError, match=NAMED or "product_name"):
        bad.track_deployment(product_name=1, version="1", environment_name="e", status="started")
    with pytest.raises(TypeError, match="version"):
        bad.track_deployment(product_name="a", version=1.5, environment_name="e",
                             status="started")
    with pytest.raises(TypeError, match="version"):
        bad.track_deployment(product_name="a", version=True, environment_name="e",
                             status="started")
    with pytest.raises(TypeError, match=NAMED or "skip_preflight_checks"):
        bad.track_deployment(product_name="a", version="1", environment_name="e",
                             status="started", skip_preflight_checks="yes")
    with pytest.raises(TypeError):
        bad.track_build("a", "1", "success")  # keyword-only
    with pytest.raises(TypeError, match="missing"):
        bad.track_build(product_name="a", version="1")
    with pytest.raises(TypeError, match="at"):
        bad.check(product_name="a", version="1", environment_name="e", at=12345)
    with pytest.raises(TypeError):
        bad.versions("api", limit="ten")
    with pytest.raises(TypeError):
        bad.drift(environments="prod")
    with pytest.raises(versioner.InvalidInputError, match="must be a table/object"):
        bad.add_rule("not a rule")
    with pytest.raises(TypeError):
        versioner.Versioner(path=42)  # type: ignore[arg-type]
    with pytest.raises(versioner.InvalidInputError) as sync:
        versioner.Versioner(synchronous="off")  # type: ignore[arg-type]
    assert sync.value.field == "synchronous"


def test_invalid_status(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as info:
        deploy(vr, "1", "dev", "succeeded")
    e = info.value
    assert e.field == "status"
    assert "unknown status `succeeded`" in str(e)
    assert "pending, started, completed, failed, aborted" in str(e)
    with pytest.raises(versioner.InvalidInputError) as blank:
        vr.track_build(product_name="a", version="1", status="")
    assert blank.value.field == "status"


def test_oversized_metadata(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as info:
        deploy(vr, "1", "dev", extra_metadata={"blob": "x" * 102_400})
    assert info.value.field == "extra_metadata"
    assert "the limit is 102400 bytes" in str(info.value)
    deploy(vr, "1", "dev", extra_metadata={"blob": "x" * 1000})


@pytest.mark.parametrize(
    "metadata,fragment,field",
    [
        ([1, 2], "must be a JSON object, found an array", "extra_metadata"),
        ("text", "found a string", "extra_metadata"),
        ({"k": {1, 2}}, "not JSON-compatible", "extra_metadata.k"),
        ({"k": object()}, "not JSON-compatible", "extra_metadata.k"),
        ({"k": b"bytes"}, "not JSON-compatible", "extra_metadata.k"),
        ({1: "v"}, "keys must be str", "extra_metadata"),
        ({"k": math.nan}, "finite", "extra_metadata.k"),
        ({"k": math.inf}, "finite", "extra_metadata.k"),
        ({"k": 2**70}, "too large", "extra_metadata.k"),
        ({"k": datetime(2026, 1, 1)}, "naive datetime", "extra_metadata.k"),
        ({"k": [{"deep": [1, {"x": set()}]}]}, "not JSON-compatible",
         "extra_metadata.k[0].deep[1].x"),
    ],
)
def test_metadata_must_be_json(vr: versioner.Versioner, metadata: Any, fragment: str,
                               field: str) -> None:
    with pytest.raises(versioner.InvalidInputError) as info:
        deploy(vr, "1", "dev", extra_metadata=metadata)
    assert fragment in str(info.value)
    assert info.value.field == field
    assert vr.history() == []  # nothing half-written


def test_metadata_conversions(vr: versioner.Versioner) -> None:
    d = deploy(
        vr,
        "1",
        "dev",
        extra_metadata={
            "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
            "took": timedelta(minutes=2),
            "tuple": (1, "a"),
            "big": 2**63,
            "neg": -(2**63),
            "float": 1.5,
            "unicode": "déploiement ✓",
        },
    )
    assert d.extra_metadata == {
        "when": "2026-01-02T03:04:05Z",
        "took": "120s",
        "tuple": [1, "a"],
        "big": 2**63,
        "neg": -(2**63),
        "float": 1.5,
        "unicode": "déploiement ✓",
    }


def test_deeply_nested_or_cyclic_metadata_is_refused(vr: versioner.Versioner) -> None:
    deep: Dict[str, Any] = {}
    cur = deep
    for _ in range(100):
        cur["n"] = {}
        cur = cur["n"]
    with pytest.raises(versioner.InvalidInputError, match="nested more than"):
        deploy(vr, "1", "dev", extra_metadata=deep)
    cyclic: Dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(versioner.InvalidInputError, match="nested more than"):
        deploy(vr, "1", "dev", extra_metadata=cyclic)
    loop: List[Any] = []
    loop.append(loop)
    with pytest.raises(versioner.InvalidInputError):
        deploy(vr, "1", "dev", extra_metadata={"l": loop})


def test_naive_datetimes_are_refused(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.check(product_name="a", version="1", environment_name="e", at=datetime(2026, 1, 1))
    assert info.value.field == "at" and "timezone-aware" in str(info.value)
    with pytest.raises(versioner.InvalidInputError) as info2:
        vr.state(at="yesterday")
    assert info2.value.field == "at" and "RFC 3339" in str(info2.value)
    with pytest.raises(versioner.InvalidInputError) as info3:
        vr.track_build(product_name="a", version="1", status="started",
                       started_at=datetime(2026, 1, 1))
    assert info3.value.field == "started_at"


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("product_name", "x" * 256, "the limit is 255"),
        ("product_name", "api\nprod", "control characters"),
        ("environment_name", "", "required"),
        ("version", " ", "required"),
        ("scm_sha", "HEAD", "not a commit SHA"),
        ("scm_sha", "a" * 41, "the limit is 40"),
        ("deployed_by", "x" * 256, "the limit is 255"),
        ("build_number", "x" * 101, "the limit is 100"),
        ("deploy_url", "x" * 501, "the limit is 500"),
        ("completed_at", "2026-13-01", "RFC 3339"),
    ],
)
def test_field_validation_names_the_field(vr: versioner.Versioner, field: str, value: str,
                                          fragment: str) -> None:
    kwargs: Dict[str, Any] = {"product_name": "api", "version": "1",
                              "environment_name": "dev", "status": "completed"}
    kwargs[field] = value
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.track_deployment(**kwargs)
    assert info.value.field == field and fragment in str(info.value)


def test_blank_optionals_are_absent(vr: versioner.Versioner) -> None:
    d = deploy(vr, "1", "dev", deployed_by="  ", scm_sha="", deploy_url=None)
    assert d.deployed_by is None and d.scm_sha is None


def test_random_garbage_never_crashes(vr: versioner.Versioner) -> None:
    """Throws random values at every argument; only TypeError or VersionerError may come out."""
    rng = random.Random(5)
    pool: List[Any] = [None, "", " ", "x" * 300, "ok", "\x00", "✓", 0, -1, 2**64, 1.5,
                       math.nan, True, [], {}, {"k": "v"}, [1], object(), b"b", set(),
                       datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=timezone.utc),
                       timedelta(seconds=-1)]
    calls: List[Callable[[List[Any]], Any]] = [
        lambda a: vr.track_deployment(product_name=a[0], version=a[1], environment_name=a[2],
                                      status=a[3], extra_metadata=a[4], completed_at=a[5]),
        lambda a: vr.track_build(product_name=a[0], version=a[1], status=a[2],
                                 build_number=a[3], started_at=a[4], extra_metadata=a[5]),
        lambda a: vr.check(product_name=a[0], version=a[1], environment_name=a[2], at=a[3]),
        lambda a: vr.add_rule(a[0]),
        lambda a: vr.apply_policy(a[0], mode=a[1]),
        lambda a: vr.history(product_name=a[0], status=a[1], since=a[2], limit=a[3]),
        lambda a: vr.versions(a[0], a[1], a[2]),
        lambda a: vr.state(a[0]),
        lambda a: vr.drift(a[0], a[1]),
        lambda a: vr.set_environment_type(a[0], a[1]),
        lambda a: vr.set_rule_status(a[0], a[1], a[2], a[3]),
        lambda a: vr.approve(product_name=a[0], version=a[1], approval_type=a[2], approver=a[3]),
        lambda a: vr.deployment(a[0]),
        lambda a: versioner.detect_ci(a[0]),
    ]
    for _ in range(600):
        call = rng.choice(calls)
        args = [rng.choice(pool) for _ in range(6)]
        try:
            call(args)
        except (TypeError, versioner.VersionerError, OverflowError):
            pass
