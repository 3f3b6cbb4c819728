"""Tests of the docs runner and the link checker on fixtures: a good page passes, and each kind of
broken example or link fails the run, naming the block. Run by scripts/test-docs.sh (with the
VERSIONER_DOCS_* variables set, as for the guide itself):

    python3 -m unittest discover -s scripts/docs -p 'test_*.py'
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_links  # noqa: E402
import run_examples  # noqa: E402

FIXTURES = HERE / "fixtures"
ROOT = HERE.parents[1]


def run(*files: str) -> "tuple[int, str]":
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_examples.main(["--root", str(ROOT), *(str(FIXTURES / f) for f in files)])
    return code, err.getvalue()


class PlaceholderTest(unittest.TestCase):
    def test_exact_and_placeholders(self) -> None:
        m = run_examples.output_matches
        self.assertTrue(m(["a", "b"], ["a", "b"]))
        self.assertFalse(m(["a", "b"], ["a", "c"]))
        self.assertFalse(m(["a"], ["a", "b"]))
        self.assertTrue(m(["id: [..]"], ["id: 01a2-ff"]))
        self.assertFalse(m(["id: [..]"], ["name: x"]))
        self.assertTrue(m(["first", "...", "last"], ["first", "x", "y", "last"]))
        self.assertTrue(m(["first", "...", "last"], ["first", "last"]))
        self.assertFalse(m(["first", "...", "last"], ["first", "x"]))
        # A bracket that is not the placeholder is literal.
        self.assertFalse(m(["[ab]"], ["a"]))


@unittest.skipUnless(os.environ.get("VERSIONER_DOCS_BIN_DIR"), "needs the built tools (scripts/test-docs.sh)")
class RunnerTest(unittest.TestCase):
    def test_a_good_page_passes(self) -> None:
        code, err = run("good.md")
        self.assertEqual(code, 0, err)

    def test_a_transcript_that_differs_fails(self) -> None:
        code, err = run("broken_output.md")
        self.assertEqual(code, 1)
        self.assertIn("broken_output.md:4: `versioner status`: output differs", err)
        self.assertIn("(nothing deployed yet)", err)

    def test_a_silent_non_zero_exit_fails(self) -> None:
        code, err = run("broken_status.md")
        self.assertEqual(code, 1)
        self.assertIn("exited 1; show the status with `$ echo $?`", err)

    def test_an_invalid_policy_fails(self) -> None:
        code, err = run("broken_policy.md")
        self.assertEqual(code, 1)
        self.assertIn("broken_policy.md:3: the policy is refused", err)
        self.assertIn("flwo", err)

    def test_a_failing_program_fails(self) -> None:
        code, err = run("broken_python.md")
        self.assertEqual(code, 1)
        self.assertIn("the python example exited 1", err)
        self.assertIn("InvalidInputError", err)

    def test_an_unknown_language_fails(self) -> None:
        code, err = run("unknown_language.md")
        self.assertEqual(code, 1)
        self.assertIn("unknown language `yaml`", err)

    def test_a_rust_block_outside_the_doctests_fails(self) -> None:
        code, err = run("rust_not_included.md")
        self.assertEqual(code, 1)
        self.assertIn("a rust block's page must be a doctest", err)
        self.assertIn('include_str!("../../scripts/docs/fixtures/rust_not_included.md")', err)

    def test_one_broken_page_fails_the_whole_run(self) -> None:
        code, err = run("good.md", "broken_output.md")
        self.assertEqual(code, 1)


class LinkCheckerTest(unittest.TestCase):
    def test_broken_links_are_named_and_others_pass(self) -> None:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = check_links.main(["--root", str(ROOT), str(FIXTURES / "broken_links.md")])
        self.assertEqual(code, 1)
        problems = err.getvalue().strip().split("\n")
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("`nowhere.md`: no such file", problems[0])
        self.assertIn("no heading `#no-such-heading` in good.md", problems[1])

    def test_a_page_missing_from_the_summary_is_named(self) -> None:
        src = FIXTURES / "book"
        self.assertEqual(check_links.orphans(src), ["fixtures/book/orphan.md: not linked from fixtures/book/SUMMARY.md"])

    def test_slugs_are_githubs_and_mdbooks(self) -> None:
        self.assertEqual(check_links.slug("Inputs, the same on every surface"), "inputs-the-same-on-every-surface")
        self.assertEqual(check_links.slug("The `versioner` command"), "the-versioner-command")
        self.assertEqual(check_links.slug("SQLite vs. PostgreSQL"), "sqlite-vs-postgresql")


if __name__ == "__main__":
    unittest.main()
