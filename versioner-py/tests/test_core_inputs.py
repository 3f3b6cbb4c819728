"""Inputs are read by the core (`versioner_core::input`): the same answer as in Node and C.

The same checks run in versioner-node/__test__/inputs.test.mjs and in the C test
(versioner-ffi/tests/c/test_versioner.c): JSON policy text with no format is JSON, and an
unknown option key is refused with INVALID_INPUT naming the key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import versioner


def test_json_policy_text_without_a_format_is_json(vr: versioner.Versioner) -> None:
    assert vr.apply_policy('{"rules":[]}').added == []
    report = vr.apply_policy('{"rules":[{"name":"One","type":"concurrency"}]}')
    assert report.added == ["One"]
    # A bare array of rules is JSON too; TOML's `[[rules]]` is still TOML.
    assert vr.apply_policy("[]").deleted == ["One"]
    assert vr.apply_policy("[[rules]]\nname = 'Two'\ntype = 'concurrency'\n").added == ["Two"]


def test_an_unknown_option_key_is_refused_naming_it(db_path: Path) -> None:
    with pytest.raises(versioner.InvalidInputError) as local:
        versioner.Versioner(db_path, bogus_option=1)  # type: ignore[call-arg]
    assert local.value.code == "INVALID_INPUT"
    assert local.value.field == "bogus_option"
    assert "unknown option" in str(local.value)
    assert not db_path.exists(), "nothing is opened with a bad option"

    # Options are read before anything is contacted.
    with pytest.raises(versioner.InvalidInputError) as pg:
        versioner.Versioner.connect("host=/nowhere dbname=x", pool=1)  # type: ignore[call-arg]
    assert pg.value.field == "pool"
    with pytest.raises(versioner.InvalidInputError) as remote:
        versioner.Client("http://127.0.0.1:1", retries=3)  # type: ignore[call-arg]
    assert remote.value.field == "retries"

    # An option of the other kind of store is named as such.
    with pytest.raises(versioner.InvalidInputError, match="PostgreSQL option") as other:
        versioner.Versioner(":memory:", schema="ci")
    assert other.value.field == "schema"
    with pytest.raises(versioner.InvalidInputError) as value:
        versioner.Versioner(busy_timeout_ms="30s")  # type: ignore[arg-type]
    assert value.value.field == "busy_timeout_ms"


def test_every_documented_option_is_accepted(db_path: Path) -> None:
    with versioner.Versioner(db_path, synchronous="normal", busy_timeout_ms=250) as a:
        assert a.path == db_path
        assert a.products() == []
    # None keeps the default, as in any Python API.
    with versioner.Versioner(db_path, synchronous=None, busy_timeout_ms=None) as b:  # type: ignore[arg-type]
        assert b.path == db_path
    client = versioner.Client(
        "http://127.0.0.1:1", "k", timeout=1, max_attempts=1, backoff=0, max_wait=0.5,
        user_agent="py-test",
    )
    client.close()
    versioner.Client("http://127.0.0.1:1", timeout_ms=1000, backoff_ms=0, max_wait_ms=10).close()
    with pytest.raises(versioner.InvalidInputError) as both:
        versioner.Client("http://127.0.0.1:1", timeout=1, timeout_ms=1000)
    assert both.value.field == "timeout_ms"


def test_locations_are_the_cores(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with versioner.Versioner(f"sqlite:{path}") as vr:
        assert vr.path == path
    assert path.exists()
    for memory in (None, ":memory:", "sqlite::memory:"):
        assert versioner.Versioner(memory).path is None
    with pytest.raises(versioner.InvalidInputError) as scheme:
        versioner.Versioner("mysql://db/versioner")
    assert scheme.value.field == "path"
