"""A report as a list of blocks, rendered to Markdown and to self-contained HTML."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class Document:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def text(self, markdown: str) -> None:
        """A paragraph or list in Markdown (bold, code and links are carried into the HTML)."""
        self.blocks.append(("text", markdown.strip()))

    def table(self, table: pd.DataFrame, caption: str = "") -> None:
        """Cells may hold **bold** Markdown."""
        self.blocks.append(("table", (table, caption)))

    def figure(self, path: Path, caption: str) -> None:
        self.blocks.append(("figure", (Path(path), caption)))

    def markdown(self, figure_folder: str = "figures") -> str:
        """Figures are linked as figure_folder/<file name>, relative to the Markdown file."""
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                out += ["#" * level + " " + text, ""]
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
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                body.append(f"<h{level}>{_inline(text)}</h{level}>")
            elif kind == "text":
                body.append(_block(value))
            elif kind == "table":
                table, caption = value
                cells = table.map(lambda v: _inline(str(v)))
                cells.columns = [_inline(str(c)) for c in table.columns]
                body.append(f"<figure><figcaption>{_inline(caption)}</figcaption>"
                            f"{cells.to_html(index=False, escape=False, border=0)}</figure>")
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
"""


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
