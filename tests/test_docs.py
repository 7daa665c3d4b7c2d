"""The README is a front page and docs/ holds the rest: every relative link in README.md and
docs/*.md resolves (anchors included), the README stays short, and the environment-variable
tables name exactly the variables of emo.environment.VARIABLES.

    python tests/test_docs.py    # prints the environment table, to paste after editing VARIABLES
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from emo.environment import VARIABLES

REPO = Path(__file__).resolve().parents[1]

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 250
ENV_HEADER = "| variable | read by | default | what it does |"

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without code: links inside code blocks and spans are examples, not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation other than '-'
    and '_' removed, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text()))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]  # http:, https:, mailto: ...


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_anchors_included(page):
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        resolved = (page.parent / unquote(path)).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved.relative_to(REPO) if resolved.is_relative_to(REPO) else resolved}")
        elif fragment and (resolved.suffix != ".md" or unquote(fragment) not in anchors(resolved)):
            broken.append(f"{target}: no heading #{fragment} in {resolved.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: broken links: " + "; ".join(broken)


def test_every_docs_page_and_image_is_linked_from_somewhere():
    linked = {(page.parent / unquote(t.partition("#")[0])).resolve()
              for page in PAGES for t in relative_links(page) if t.partition("#")[0]}
    docs = [p for p in (REPO / "docs").iterdir() if p.suffix in (".md", ".png")]
    orphans = sorted(str(p.relative_to(REPO)) for p in docs if p.resolve() not in linked)
    assert not orphans, f"nothing links to {orphans}"


def test_readme_is_a_front_page():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines, over {README_MAX_LINES}: move detail to docs/"


def test_the_readme_test_command_is_the_one_ci_runs():
    """.ci/run runs the README's second command verbatim: they must not drift apart."""
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("python3.11 ")]
    assert len(ci) == 1, ".ci/run should hold one python3.11 command line"
    assert ci[0] in README.read_text().splitlines(), f"README.md lacks .ci/run's command line: {ci[0]}"


def env_rows() -> list[str]:
    return [f"| `{v.name}` | {v.read_by} | {v.default} | {v.does} |" for v in VARIABLES]


def env_table() -> str:
    return "\n".join([ENV_HEADER, "|---|---|---|---|", *env_rows()])


def table_rows(page: Path) -> list[str]:
    lines = page.read_text().splitlines()
    assert ENV_HEADER in lines, f"{page.relative_to(REPO)} has no environment table ({ENV_HEADER})"
    rows = []
    for line in lines[lines.index(ENV_HEADER) + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_the_readme_environment_table_is_emo_environment_variables():
    assert table_rows(README) == env_rows(), (
        "README.md's environment table differs from emo.environment.VARIABLES; `python tests/test_docs.py` prints it")


if __name__ == "__main__":
    print(env_table())
