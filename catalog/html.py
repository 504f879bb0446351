"""Self-contained HTML pages: tables, anchors, and plots embedded as ``data:`` URIs.

A page written here needs no server and no neighbouring files: every image is inlined as a
base64 PNG, the style sheet is inline, nothing is fetched. :func:`markdown_to_html` converts the
markdown subset the reports write (headings, pipe tables, lists, images, inline code, bold,
raw ``<details>`` / ``<a id>`` lines) so ``report.md`` and ``report.html`` say the same thing.

Example
-------
>>> html = markdown_to_html("# Title\\n\\n| a | b |\\n|---|---|\\n| 1 | `x` |\\n")
>>> "<h1" in html and "<td>1</td>" in html and "<code>x</code>" in html
True
"""

from __future__ import annotations

import base64
import html as _html
import re
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
code { background: #f5f5f5; padding: 0 0.2em; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
.reproduced { color: #17701a; font-weight: bold; } .differs { color: #b00020; font-weight: bold; }
.unreached { color: #a06000; font-weight: bold; } .unconfirmed { color: #777; }
"""


def esc(v) -> str:
    return _html.escape("" if v is None else str(v), quote=True)


def data_uri(path: str | Path) -> str:
    """A PNG (or SVG/JPEG) file as a ``data:`` URI."""
    path = Path(path)
    mime = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}.get(
        path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def page(title: str, body: str) -> str:
    """A complete HTML document with the inline style sheet."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def table(headers: list[str], rows: list[list[str]], row_ids: list[str | None] | None = None,
          raw_columns: set[int] | frozenset = frozenset()) -> str:
    """An HTML table; cells are escaped except the columns in ``raw_columns`` (already HTML)."""
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead>", "<tbody>"]
    for i, row in enumerate(rows):
        rid = row_ids[i] if row_ids else None
        attr = f' id="{esc(rid)}"' if rid else ""
        cells = "".join(f"<td>{c if j in raw_columns else esc(c)}</td>" for j, c in enumerate(row))
        out.append(f"<tr{attr}>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((#[^)\s]+)\)")


def inline(text: str) -> str:
    """Escape, then render `code`, **bold** and in-page [links](#anchor)."""
    parts = _INLINE_CODE.split(text)
    out = []
    for i, p in enumerate(parts):
        if i % 2:
            out.append(f"<code>{esc(p)}</code>")
        else:
            s = esc(p)
            s = _BOLD.sub(r"<strong>\1</strong>", s)
            s = _LINK.sub(r'<a href="\2">\1</a>', s)
            out.append(s)
    return "".join(out)


def _split_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells, cur, i = [], "", 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if body[i] == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += body[i]
        i += 1
    cells.append(cur.strip())
    return cells


_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)\s*$")
_RULE = re.compile(r"^\|?\s*:?-{3,}")


def markdown_to_html(md: str, base: str | Path | None = None) -> str:
    """The markdown subset of the reports as HTML; images under ``base`` are embedded as data URIs."""
    lines = md.splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush():
        if para:
            out.append("<p>" + inline(" ".join(para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s:
            flush()
            i += 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", s)
        if m:
            flush()
            level, text = len(m.group(1)), m.group(2)
            anchor = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
            out.append(f'<h{level} id="{esc(anchor)}">{inline(text)}</h{level}>')
            i += 1
            continue
        m = _IMAGE.match(s)
        if m:
            flush()
            alt, src = m.group(1), m.group(2)
            path = Path(base) / src if base is not None else Path(src)
            uri = data_uri(path) if path.is_file() else src
            out.append(f'<p><img alt="{esc(alt)}" src="{uri}"></p>')
            i += 1
            continue
        if s.startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1].strip()):
            flush()
            headers = _split_row(s)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_split_row(lines[i]))
                i += 1
            body = ["<table>", "<thead><tr>" + "".join(f"<th>{inline(h)}</th>" for h in headers) + "</tr></thead>",
                    "<tbody>"]
            for r in rows:
                body.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>")
            body.append("</tbody></table>")
            out.append("\n".join(body))
            continue
        if s.startswith(("- ", "* ")):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append("<li>" + inline(lines[i].strip()[2:]) + "</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        if s.startswith("<") and re.match(r"^</?(details|summary|a)\b", s):
            flush()
            out.append(s)  # the reports' own raw HTML (collapsible sections, anchors)
            i += 1
            continue
        para.append(s)
        i += 1
    flush()
    return "\n".join(out)


def write_markdown_page(md_path: str | Path, html_path: str | Path | None = None, title: str | None = None) -> Path:
    """Write the self-contained HTML twin of a markdown file (images from its folder embedded)."""
    md_path = Path(md_path)
    html_path = Path(html_path) if html_path is not None else md_path.with_suffix(".html")
    md = md_path.read_text()
    first = next((ln[2:].strip() for ln in md.splitlines() if ln.startswith("# ")), md_path.stem)
    tmp = html_path.with_name("." + html_path.name + ".tmp")
    tmp.write_text(page(title or first, markdown_to_html(md, md_path.parent)))
    tmp.replace(html_path)
    return html_path


__all__ = ["data_uri", "esc", "inline", "markdown_to_html", "page", "table", "write_markdown_page"]
