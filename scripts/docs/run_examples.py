#!/usr/bin/env python3
"""Runs every fenced code block of the guide (docs/src/**/*.md) and the README.

Each Markdown page is run in a fresh temporary directory (also $HOME) with VERSIONER_DB set to
`versioner.db` there, so each page has a fresh embedded database, the freshly built `versioner`
first on PATH, and no CI variables. Blocks run in page order and share that
directory, so a file written by one block is there for the next. What a block's info string
(the words after the opening fence, separated by commas or spaces) does:

  console   a CLI transcript: each `$ CMD` line (a trailing `\\` continues it on the next line)
            runs in one page-long bash session (`cd` and `export` carry over; `$?` is the
            previous command's status) and the lines up to the next `$ ` are its expected output,
            stdout and stderr together, compared exactly after trailing blanks are trimmed.
            Placeholders: `[..]` in a line matches any text within that line; a line that is
            only `...` matches any number of lines. A command that exits non-zero must be
            followed by `$ echo $?` (so the status is shown and checked).
  toml      a policy file: applied with `versioner rules apply` to a fresh database, which
            refuses an invalid file naming the problem. `file=NAME` also writes it into the
            page's directory for the blocks after it. `refused`: the file is an example of an
            invalid policy, and the run fails if it is accepted.
  json      must parse as JSON; `file=NAME` writes it.
  python    run with the built binding ($VERSIONER_DOCS_PYTHON); must exit 0.
  js        run as an ES module with node, `@versioner/node` resolving to the built addon.
  c         compiled with gcc against versioner.h and linked with libversioner, then run.
  output    the expected output (stdout and stderr) of the program block just before it,
            compared as in console blocks.
  rust      compiled and run as doctests of versioner-core (`cargo test --doc`): the page must
            be included in versioner-core/src/guide.rs, which this runner checks. On such a
            page rustdoc compiles an illustrative Rust block too, so one must also say `ignore`.

A block whose info string contains `illustrative` is skipped. Any other language, or a block
with no language, fails the run: nothing in the guide is silently unchecked.

Usage: run_examples.py [--root DIR] [FILE.md ...]   (default: README.md and docs/src/**/*.md)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
RUNNABLE = {"console", "toml", "json", "python", "js", "c", "output", "rust"}
PROGRAMS = {"python", "js", "c"}
TIMEOUT = 120


@dataclass
class Block:
    """One fenced code block of a page."""

    path: Path
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    lang: str = ""
    attrs: Dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        words = [w for w in re.split(r"[,\s]+", self.info.strip()) if w]
        self.lang = words[0] if words else ""
        for w in words[1:]:
            key, _, value = w.partition("=")
            self.attrs[key] = value

    @property
    def illustrative(self) -> bool:
        return "illustrative" in self.info

    def where(self) -> str:
        return f"{self.path}:{self.line}"


class Failure(Exception):
    """An example that does not do what its page says."""


def parse_blocks(path: Path) -> List[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    blocks: List[Block] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3)
        start = i
        body: List[str] = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        else:
            raise Failure(f"{path}:{start + 1}: code block never closed")
        blocks.append(Block(path, start + 1, info, "\n".join(body) + ("\n" if body else "")))
        i += 1
    return blocks


# ---------------------------------------------------------------------------------------------
# Expected output with placeholders


def _line_matches(expected: str, actual: str) -> bool:
    if "[..]" not in expected:
        return expected == actual
    pattern = ".*?".join(re.escape(part) for part in expected.split("[..]"))
    return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None


def output_matches(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether `actual` lines match `expected` lines (`[..]` within a line, `...` lines)."""
    memo: Dict[tuple, bool] = {}

    def go(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i] == "...":
            result = any(go(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            result = j < len(actual) and _line_matches(expected[i], actual[j]) and go(i + 1, j + 1)
        memo[key] = result
        return result

    return go(0, 0)


def normalize(text: str) -> List[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def compare(what: str, expected: Sequence[str], actual_text: str) -> None:
    actual = normalize(actual_text)
    exp = list(expected)
    while exp and not exp[-1]:
        exp.pop()
    if not output_matches(exp, actual):
        raise Failure(
            f"{what}: output differs\n--- expected\n"
            + "\n".join(exp)
            + "\n--- actual\n"
            + "\n".join(actual)
        )


# ---------------------------------------------------------------------------------------------
# The environment of a page


@dataclass
class Tools:
    """Where the built artifacts are; a block needing a missing one fails."""

    root: Path
    bin_dir: Optional[Path]
    python: Optional[str]
    node_module: Optional[Path]
    c_include: Path
    c_libdir: Optional[Path]
    rust_guide: Path

    @staticmethod
    def from_env(root: Path) -> "Tools":
        def path(var: str) -> Optional[Path]:
            v = os.environ.get(var)
            return Path(v).resolve() if v else None

        return Tools(
            root=root,
            bin_dir=path("VERSIONER_DOCS_BIN_DIR"),
            python=os.environ.get("VERSIONER_DOCS_PYTHON"),
            node_module=path("VERSIONER_DOCS_NODE_MODULE"),
            c_include=root / "versioner-ffi" / "include",
            c_libdir=path("VERSIONER_DOCS_C_LIBDIR"),
            rust_guide=root / "versioner-core" / "src" / "guide.rs",
        )

    def need(self, value: object, var: str, block: Block) -> None:
        if not value:
            raise Failure(f"{block.where()}: a `{block.lang}` block needs {var} (scripts/test-docs.sh sets it)")


class Page:
    """One page's directory, environment and shell state."""

    def __init__(self, path: Path, tools: Tools) -> None:
        self.path = path
        self.tools = tools
        self.tmp = Path(tempfile.mkdtemp(prefix="versioner-docs-"))
        self.dir = self.tmp / "work"
        self.dir.mkdir()
        self.state = self.tmp / "state"
        self.state.mkdir()
        (self.state / "env.sh").write_text("")
        (self.state / "cwd").write_text(str(self.dir))
        self.rc = 0
        self.last_program: Optional[Block] = None
        self.last_program_output = ""
        self.counter = 0
        search = os.environ.get("PATH", "/usr/bin:/bin")
        if tools.bin_dir:
            search = f"{tools.bin_dir}{os.pathsep}{search}"
        # A clean environment: no CI variables (the CLI would read them), no VERSIONER_*.
        self.env = {
            "PATH": search,
            "HOME": str(self.dir),
            "USER": "dana",
            "LOGNAME": "dana",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "TERM": "dumb",
            "NO_COLOR": "1",
            # The database every CLI command of the page records into (the guide says so).
            "VERSIONER_DB": "versioner.db",
        }
        if tools.node_module:
            scope = self.dir / "node_modules" / "@versioner"
            scope.mkdir(parents=True)
            (scope / "node").symlink_to(tools.node_module)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, args: List[str], what: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                args, cwd=cwd or self.dir, env=self.env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise Failure(f"{what}: timed out after {TIMEOUT} s") from None

    # -- console ---------------------------------------------------------------------------

    def shell(self, command: str, block: Block, line: int) -> str:
        state = shlex.quote(str(self.state))
        script = (
            f"source {state}/env.sh 2>/dev/null\n"
            f"cd \"$(cat {state}/cwd)\"\n"
            f"(exit {self.rc})\n"
            f"{command}\n"
            "__versioner_docs_rc=$?\n"
            f"export -p > {state}/env.sh\n"
            f"pwd > {state}/cwd\n"
            "exit $__versioner_docs_rc\n"
        )
        proc = self.run(["bash", "--noprofile", "--norc", "-c", script], f"{block.path}:{line}")
        self.rc = proc.returncode
        return proc.stdout.decode("utf-8", "replace")

    def console(self, block: Block) -> None:
        commands: List[tuple] = []  # (line, command, expected lines)
        lines = block.text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        i = 0
        while i < len(lines):
            text = lines[i]
            if not text.startswith("$ "):
                if commands:
                    commands[-1][2].append(text.rstrip())
                elif text.strip():
                    raise Failure(f"{block.where()}: a console block starts with `$ COMMAND`")
                i += 1
                continue
            start = block.line + 1 + i
            cmd = text[2:]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd + "\n" + lines[i]
            commands.append((start, cmd, []))
            i += 1
        for n, (line, cmd, expected) in enumerate(commands):
            out = self.shell(cmd, block, line)
            compare(f"{block.path}:{line}: `{cmd}`", expected, out)
            if self.rc != 0:
                nxt = commands[n + 1][1].strip() if n + 1 < len(commands) else ""
                if nxt != "echo $?":
                    raise Failure(
                        f"{block.path}:{line}: `{cmd}` exited {self.rc}; show the status with "
                        "`$ echo $?` on the next line"
                    )

    # -- files and policies ----------------------------------------------------------------

    def write_file(self, block: Block) -> None:
        name = block.attrs.get("file")
        if name:
            target = (self.dir / name).resolve()
            if self.dir.resolve() not in target.parents:
                raise Failure(f"{block.where()}: file={name} leaves the page's directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")

    def toml(self, block: Block) -> None:
        self.tools.need(self.tools.bin_dir, "VERSIONER_DOCS_BIN_DIR", block)
        check = self.tmp / "policy-check"
        shutil.rmtree(check, ignore_errors=True)
        check.mkdir()
        (check / "policy.toml").write_text(block.text, encoding="utf-8")
        proc = self.run(["versioner", "--db", str(check / "check.db"), "rules", "apply", "policy.toml"],
                        block.where(), cwd=check)
        refused = "refused" in block.attrs
        if proc.returncode != 0 and not refused:
            raise Failure(f"{block.where()}: the policy is refused:\n{proc.stdout.decode('utf-8', 'replace')}")
        if proc.returncode == 0 and refused:
            raise Failure(f"{block.where()}: the policy is marked `refused` but was accepted")
        self.write_file(block)

    def json(self, block: Block) -> None:
        try:
            json.loads(block.text)
        except ValueError as e:
            raise Failure(f"{block.where()}: not JSON: {e}") from None
        self.write_file(block)

    # -- programs --------------------------------------------------------------------------

    def program(self, block: Block) -> None:
        self.counter += 1
        ext = {"python": "py", "js": "mjs", "c": "c"}[block.lang]
        name = block.attrs.get("file") or f"example_{self.counter}.{ext}"
        source = self.dir / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(block.text, encoding="utf-8")
        if block.lang == "python":
            self.tools.need(self.tools.python, "VERSIONER_DOCS_PYTHON", block)
            args = [str(self.tools.python), str(source)]
        elif block.lang == "js":
            self.tools.need(self.tools.node_module, "VERSIONER_DOCS_NODE_MODULE", block)
            if not source.name.endswith(".mjs"):
                raise Failure(f"{block.where()}: a js block's file= must end in .mjs")
            args = ["node", str(source)]
        else:
            self.tools.need(self.tools.c_libdir, "VERSIONER_DOCS_C_LIBDIR", block)
            exe = source.with_suffix("")
            lib = str(self.tools.c_libdir)
            cc = self.run(
                ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{self.tools.c_include}",
                 str(source), "-o", str(exe), f"-L{lib}", f"-Wl,-rpath,{lib}", "-lversioner"],
                f"{block.where()} (gcc)",
            )
            if cc.returncode != 0:
                raise Failure(f"{block.where()}: does not compile:\n{cc.stdout.decode('utf-8', 'replace')}")
            args = [str(exe)]
        proc = self.run(args, block.where())
        out = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise Failure(f"{block.where()}: the {block.lang} example exited {proc.returncode}:\n{out}")
        self.last_program = block
        self.last_program_output = out

    def output(self, block: Block) -> None:
        if self.last_program is None:
            raise Failure(f"{block.where()}: an `output` block must follow a python, js or c block")
        compare(f"{block.where()}: the output of {self.last_program.where()}", normalize(block.text),
                self.last_program_output)
        self.last_program = None

    def rust(self, block: Block) -> None:
        if not is_doctest_page(block.path, self.tools):
            rel = block.path.resolve().relative_to(self.tools.root.resolve()).as_posix()
            guide = self.tools.rust_guide
            raise Failure(
                f"{block.where()}: a rust block's page must be a doctest: add "
                f'include_str!("../../{rel}") to {guide.relative_to(self.tools.root)}'
            )


def is_doctest_page(path: Path, tools: Tools) -> bool:
    """Whether versioner-core/src/guide.rs includes the page (so rustdoc runs its Rust blocks)."""
    guide = tools.rust_guide
    if not guide.exists():
        return False
    rel = path.resolve().relative_to(tools.root.resolve()).as_posix()
    return f'"../../{rel}"' in guide.read_text(encoding="utf-8")


def run_page(path: Path, tools: Tools) -> int:
    """Runs a page's blocks; returns how many ran. Raises Failure on the first failing one."""
    blocks = parse_blocks(path)
    page: Optional[Page] = None
    ran = 0
    try:
        for block in blocks:
            if (block.illustrative and block.lang == "rust" and "ignore" not in block.attrs
                    and is_doctest_page(path, tools)):
                raise Failure(f"{block.where()}: an illustrative rust block of a page included in "
                              "versioner-core/src/guide.rs needs `ignore` too (rustdoc compiles it "
                              "otherwise): ```rust,ignore,illustrative")
            if block.illustrative:
                continue
            if block.lang not in RUNNABLE:
                shown = block.lang or "(none)"
                raise Failure(
                    f"{block.where()}: unknown language `{shown}`: use one the docs runner checks "
                    f"({', '.join(sorted(RUNNABLE))}) or mark the block `illustrative`"
                )
            if page is None:
                page = Page(path, tools)
            if block.lang != "output" and block.lang in PROGRAMS | {"console"}:
                page.last_program = None
            getattr(page, {"console": "console", "toml": "toml", "json": "json", "output": "output",
                           "rust": "rust"}.get(block.lang, "program"))(block)
            ran += 1
    finally:
        if page is not None:
            page.close()
    return ran


def default_files(root: Path) -> List[Path]:
    return [root / "README.md"] + sorted((root / "docs" / "src").rglob("*.md"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    tools = Tools.from_env(root)
    files = [f.resolve() for f in args.files] or default_files(root)
    failures = 0
    total = 0
    for f in files:
        try:
            n = run_page(f, tools)
            total += n
            print(f"ok   {f.relative_to(root) if root in f.parents else f} ({n} blocks)")
        except Failure as e:
            failures += 1
            print(f"FAIL {e}", file=sys.stderr)
    print(f"{total} blocks run, {failures} page(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
