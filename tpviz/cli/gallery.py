"""The figures' gallery: one self-contained ``index.html`` (pure string rendering, every text escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

RANDOM_NOTE = "RANDOM WEIGHTS: this model's results are meaningless (only the code path ran)"
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
figure { margin: 2.5em 0; border-top: 1px solid #ddd; padding-top: 1em; }
figure img { max-width: 100%; }
figcaption { margin-top: .5em; }
dl.params { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; font-size: .85em; color: #555; }
dl.params dt { font-weight: 600; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
.random { color: red; font-weight: 700; }
"""


@dataclass(frozen=True)
class Entry:
    """One gallery item: a saved figure (``file``, a PNG beside index.html) or a text ``table``."""

    number: str
    title: str
    caption: str
    params: Mapping[str, object]
    random_models: Sequence[str] = ()
    file: str | None = None
    table: str | None = None
    seconds: float | None = None


def render_gallery(entries: Sequence[Entry], *, title: str, summary: Mapping[str, object],
                   random_models: Sequence[str] = ()) -> str:
    """The whole page: a header with ``summary`` (command, device, times...), then each entry in order."""
    head = [f"<h1>{escape(title)}</h1>", _params_html(summary)]
    if random_models:
        head.append(f'<p class="random">{escape(", ".join(random_models))}: {RANDOM_NOTE}. Figures that use '
                    "them say so in red.</p>")
    body = "\n".join(_entry(e) for e in entries)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(head) + f"\n{body}\n</body>\n</html>\n")


def _entry(e: Entry) -> str:
    label = "Table" if e.number == "table" else f"Figure {e.number}"
    parts = [f'<figure id="{escape(_anchor(e), quote=True)}">']
    if e.file is not None:
        parts.append(f'<img src="{escape(e.file, quote=True)}" alt="{escape(f"{label}: {e.title}", quote=True)}">')
    if e.table is not None:
        parts.append(f"<pre>{escape(e.table)}</pre>")
    parts.append(f"<figcaption><strong>{escape(label)}. {escape(e.title)}.</strong> {escape(e.caption)}")
    if e.random_models:
        parts.append(f'<p class="random">{escape(", ".join(e.random_models))}: {RANDOM_NOTE}.</p>')
    timing = {} if e.seconds is None else {"computed in": f"{e.seconds:.1f} s (this stage)"}
    parts.append(_params_html({**e.params, **timing}) + "</figcaption>\n</figure>")
    return "\n".join(parts)


def _params_html(params: Mapping[str, object]) -> str:
    rows = "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(str(v))}</dd>" for k, v in params.items())
    return f'<dl class="params">{rows}</dl>'


def _anchor(e: Entry) -> str:
    return "table" if e.number == "table" else f"figure-{e.number}"
