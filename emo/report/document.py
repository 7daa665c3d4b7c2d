"""A report as a list of blocks, rendered to Markdown and to self-contained HTML.

Each heading gets its anchor when it is added (GitHub's for its text, numbered when repeated):
the HTML heading's id, an <a id> before the Markdown heading. Both renderings open with a
table of contents linking to them."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# A table wider than this is cut into several (Document.table's key_columns): a Markdown row's
# characters (cells, padding and bars), each about 7 px of the HTML's table; the page is 1100 px wide.
TABLE_WIDTH = 150
MAX_TABLE_COLUMNS = 10


@dataclass
class Document:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        """level 2: a section, 3: a part of one; both are in the table of contents."""
        taken = {anchor for _, _, anchor in self.headings()}
        anchor = base = anchor_of(text)
        repeats = 0
        while anchor in taken:  # a repeated heading: GitHub's -1, -2, ...
            repeats += 1
            anchor = f"{base}-{repeats}"
        self.blocks.append(("heading", (level, text, anchor)))

    def headings(self) -> list[tuple[int, str, str]]:
        """(level, text, anchor) of every heading, in order: the table of contents."""
        return [value for kind, value in self.blocks if kind == "heading"]

    def text(self, markdown: str) -> None:
        """A paragraph or list in Markdown (bold, italics and code are carried into the HTML)."""
        self.blocks.append(("text", markdown.strip()))

    def table(self, table: pd.DataFrame, caption: str = "", key_columns: int = 0) -> None:
        """Cells may hold **bold** Markdown. With key_columns, a table too wide for the page (see
        column_parts) becomes several, each repeating its first key_columns columns."""
        parts = column_parts(table, key_columns) if key_columns else [table]
        for n, part in enumerate(parts, 1):
            self.blocks.append(("table", (part, caption if len(parts) == 1 else f"{caption} ({n} of {len(parts)})")))

    def figure(self, path: Path, caption: str) -> None:
        self.blocks.append(("figure", (Path(path), caption)))

    def markdown(self, figure_folder: str = "figures") -> str:
        """Figures are linked as figure_folder/<file name>, relative to the Markdown file."""
        out = [f"# {self.title}", "", *_contents_markdown(self.headings())]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text, anchor = value
                out += [f'<a id="{anchor}"></a>', "", "#" * level + " " + text, ""]
            elif kind == "text":
                out += [value, ""]
            elif kind == "table":
                table, caption = value
                if caption:
                    out += [f"*{caption}*", ""]
                out += [table.to_markdown(index=False, disable_numparse=True), ""]
            else:
                path, caption = value
                out += [f"![{caption}]({figure_folder}/{path.name})", "", f"*{caption}*", ""]
        return "\n".join(out)

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>", _contents_html(self.headings())]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text, anchor = value
                body.append(f'<h{level} id="{anchor}">{_inline(text)}</h{level}>')
            elif kind == "text":
                body.append(_block(value))
            elif kind == "table":
                table, caption = value
                cells = table.map(lambda v: _inline(str(v)))
                cells.columns = [_inline(str(c)) for c in table.columns]
                body.append(f"<figure><figcaption>{_inline(caption)}</figcaption><div class='table'>"
                            f"{cells.to_html(index=False, escape=False, border=0)}</div></figure>")
            else:
                path, caption = value
                data = base64.b64encode(path.read_bytes()).decode()
                body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
                            f"<figcaption>{_inline(caption)}</figcaption></figure>")
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n"
        )


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-style: italic; color: #555; margin: 0.3em 0; }
img { max-width: 100%; } code { background: #f4f4f4; padding: 0 0.2em; }
div.table { overflow-x: auto; }
nav > ul { columns: 2; } nav ul { margin: 0.2em 0; } nav li { margin: 0.1em 0; break-inside: avoid; }
"""


def anchor_of(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation (Markdown's too) dropped,
    spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") or "section"


def markdown_width(table: pd.DataFrame) -> int:
    """Characters of the table's Markdown rows (as to_markdown writes them), bold markers left out."""
    widths = [max(len(str(v).replace("**", "")) for v in [name, *table.iloc[:, i]])
              for i, name in enumerate(table.columns)]
    return sum(w + 3 for w in widths) + 1


def column_parts(table: pd.DataFrame, key_columns: int) -> list[pd.DataFrame]:
    """`table` as few tables as keep each within TABLE_WIDTH and MAX_TABLE_COLUMNS, each its
    first key_columns columns and an even share of the others, in their order."""
    keys, others = list(range(key_columns)), np.arange(key_columns, table.shape[1])
    for n in range(1, max(len(others), 1) + 1):
        parts = [table.iloc[:, keys + list(share)] for share in np.array_split(others, n)]
        if all(markdown_width(p) <= TABLE_WIDTH and p.shape[1] <= MAX_TABLE_COLUMNS for p in parts):
            break
    return parts


def _contents_markdown(headings: list[tuple[int, str, str]]) -> list[str]:
    """The table of contents' lines: nested lists of links to the headings' anchors."""
    if not headings:
        return []
    top = min(level for level, _, _ in headings)
    escaped = [re.sub(r"([\[\]])", r"\\\1", text) for _, text, _ in headings]  # brackets would end the link
    links = ["  " * (level - top) + f"- [{text}](#{anchor})" for (level, _, anchor), text in zip(headings, escaped)]
    return ["**Contents**", "", *links, ""]


def _contents_html(headings: list[tuple[int, str, str]]) -> str:
    """The table of contents as _contents_markdown's nested lists, in HTML."""
    if not headings:
        return ""
    out, depth = ["<nav><p><b>Contents</b></p>"], 0
    top = min(level for level, _, _ in headings)
    for level, text, anchor in headings:
        nested = level - top + 1
        out.append("<ul>" * (nested - depth) if nested > depth else "</li>" + "</ul></li>" * (depth - nested))
        depth = nested
        out.append(f'<li><a href="#{anchor}">{_inline(text)}</a>')
    out.append("</li>" + "</ul></li>" * (depth - 1) + "</ul></nav>")
    return "".join(out)


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", text)


def _block(markdown: str) -> str:
    lines = markdown.splitlines()
    if all(line.startswith("- ") for line in lines):
        return "<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>"
    return "".join(f"<p>{_inline(p)}</p>" for p in markdown.split("\n\n"))
