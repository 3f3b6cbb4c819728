#!/usr/bin/env python3
"""Checks, offline, that every relative link of the README and the guide resolves.

For each Markdown file (default: README.md and docs/src/**/*.md) every inline link or image
`[text](target)` and every reference definition `[id]: target` outside code is checked: the
target file or directory must exist (relative to the linking file), and an `#anchor` must name a
heading of the target Markdown file (or of the linking file, for `#anchor` alone), with the ids
GitHub and mdBook give headings (lower case, spaces to `-`, punctuation dropped, `-1`, `-2`, ...
for repeats). Links with a scheme (https:, mailto:) are not fetched; `[Draft]()` (mdBook's draft
chapter) and links inside HTML comments are ignored. Every page under docs/src must be linked
from docs/src/SUMMARY.md, or mdBook would leave it out of the guide.

Usage: check_links.py [--root DIR] [FILE.md ...]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) outside fenced code, HTML comments removed, code spans blanked."""
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    fence: Optional[str] = None
    for n, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        yield n, re.sub(r"(`+)(.+?)\1", lambda m: " " * len(m.group(0)), line)


def slug(heading: str) -> str:
    """The id GitHub and mdBook give a heading."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # link text only
    text = re.sub(r"<[^>]+>", "", text)
    out = []
    for ch in text.strip().lower():
        if ch.isalnum() or ch in "-_":
            out.append(ch)
        elif ch.isspace():
            out.append("-")
    return "".join(out)


def anchors(path: Path, cache: Dict[Path, Set[str]]) -> Set[str]:
    if path not in cache:
        seen: Dict[str, int] = {}
        ids: Set[str] = set()
        text = path.read_text(encoding="utf-8")
        fence: Optional[str] = None
        for line in text.split("\n"):
            m = FENCE.match(line)
            if fence is None and m:
                fence = m.group(1)
                continue
            if fence is not None:
                if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                    fence = None
                continue
            h = HEADING.match(line)
            if h:
                base = slug(h.group(2).replace("`", ""))
                n = seen.get(base, 0)
                seen[base] = n + 1
                ids.add(base if n == 0 else f"{base}-{n}")
            for explicit in re.findall(r'<a\s+(?:name|id)="([^"]+)"', line):
                ids.add(explicit)
        cache[path] = ids
    return cache[path]


def check_file(path: Path, root: Path, cache: Dict[Path, Set[str]]) -> List[str]:
    problems: List[str] = []
    text = path.read_text(encoding="utf-8")
    for n, line in prose_lines(text):
        targets = [m.group(1) for m in INLINE.finditer(line)]
        ref = REFDEF.match(line)
        if ref:
            targets.append(ref.group(1))
        for target in targets:
            if not target or SCHEME.match(target):
                continue
            where = f"{path.relative_to(root) if root in path.parents else path}:{n}"
            file_part, _, anchor = target.partition("#")
            dest = path if not file_part else (path.parent / file_part).resolve()
            if not dest.exists():
                problems.append(f"{where}: `{target}`: no such file {file_part}")
                continue
            if anchor:
                if dest.is_dir() or dest.suffix != ".md":
                    problems.append(f"{where}: `{target}`: an anchor into a file that is not Markdown")
                elif anchor not in anchors(dest, cache):
                    problems.append(f"{where}: `{target}`: no heading `#{anchor}` in {file_part or 'this page'}")
    return problems


def orphans(src: Path) -> List[str]:
    """Pages under `src` that SUMMARY.md does not link (mdBook would not build them)."""
    summary = src / "SUMMARY.md"
    linked = set()
    for _, line in prose_lines(summary.read_text(encoding="utf-8")):
        for m in INLINE.finditer(line):
            if m.group(1):
                linked.add((src / m.group(1).partition("#")[0]).resolve())
    return [
        f"{page.relative_to(src.parents[1])}: not linked from {summary.relative_to(src.parents[1])}"
        for page in sorted(src.rglob("*.md"))
        if page != summary and page.resolve() not in linked
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    files = [f.resolve() for f in args.files] or (
        [root / "README.md"] + sorted((root / "docs" / "src").rglob("*.md"))
    )
    cache: Dict[Path, Set[str]] = {}
    problems: List[str] = []
    for f in files:
        problems += check_file(f, root, cache)
    if not args.files:
        problems += orphans(root / "docs" / "src")
    for p in problems:
        print(f"broken link: {p}", file=sys.stderr)
    print(f"links: {len(files)} files checked, {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
