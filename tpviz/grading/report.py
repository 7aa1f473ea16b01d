"""The grading report as text: a CSV table and a self-contained HTML page (pure functions, no I/O).

Everything a student wrote is untrusted. In the HTML it is escaped, and markdown is rendered by mistune
with raw HTML escaped (a ``<script>`` shows as text), links other than http(s)/mailto neutralised and
images never loaded (shown as "[image not shown: ...]"); the page also carries a Content-Security-Policy
that forbids scripts and every remote resource. In the CSV, a cell that starts with = + - @, a tab or a
carriage return gets a leading apostrophe, so that a spreadsheet shows it as text instead of running it
as a formula (an answer that starts with a markdown list, "- ...", shows as "'- ...").
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import mistune

from .answers import QUESTIONS, Answer, is_template
from .flags import FLAG_COLUMNS, flags, status
from .flags import FLAG_LABELS as _LABELS
from .rubric import Question
from .submissions import MIN_WORDS, Submission

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
HINT_NOTE = ("The marks next to an answer say which key points of the rubric it seems to touch, from hint words "
             "found in it: a hint for the grader, never a grade.")


def clean(text: str) -> str:
    """``text`` without control characters and with any lone surrogate replaced (so it encodes as UTF-8)."""
    return _CONTROL.sub("", text).encode("utf-8", "replace").decode("utf-8")


# ---------------------------------------------------------------------------------------------- CSV


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading apostrophe before = + - @ tab or CR."""
    text = clean(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_header(questions: Sequence[str] = QUESTIONS) -> list[str]:
    """The CSV's columns: submission, files, one per question, then the flags."""
    return ["submission", "files", *questions, *FLAG_COLUMNS]


def csv_text(submissions: Sequence[Submission], *, questions: Sequence[str] = QUESTIONS,
             min_words: int = MIN_WORDS) -> str:
    """One row per submission: its name, files, the answer to each question, and the flag columns.

    A question the submission is not expected to answer (another notebook's, in a one-notebook row) is
    empty; so is one it left unanswered (the ``unanswered`` column says which).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(questions))
    for sub in submissions:
        answers = [(sub.answers[q].text if q in sub.answers and q in sub.expected else "") for q in questions]
        row = [sub.name, "; ".join(str(nb.path) for nb in sub.files), *answers,
               *flags(sub, min_words=min_words).values()]
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- markdown


class _SafeRenderer(mistune.HTMLRenderer):
    """mistune's HTML renderer with raw HTML escaped, safe links only, no images, headings demoted."""

    def link(self, text: str, url: str, title: str | None = None) -> str:
        attrs = f' title="{escape(title)}"' if title else ""
        return f'<a href="{escape(safe_url(url))}" rel="nofollow noopener noreferrer"{attrs}>{text}</a>'

    def image(self, text: str, url: str, title: str | None = None) -> str:
        alt = re.sub(r"<[^>]*>", "", text)  # ``text`` is rendered (escaped) markdown
        return f'<span class="image">[image not shown{": " + alt if alt else ""}]</span>'

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        return f'<p class="md-heading"><strong>{text}</strong></p>\n'


_markdown = mistune.create_markdown(escape=True, renderer=_SafeRenderer(escape=True),
                                    plugins=["strikethrough", "table"])


def safe_url(url: str) -> str:
    """``url`` when it is http(s) or mailto (ignoring the spaces and control characters browsers drop), else
    "#unsafe-link"."""
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", url)
    return squeezed if squeezed.lower().startswith(_SAFE_SCHEMES) else "#unsafe-link"


def escape(text: str) -> str:
    """``text`` for HTML (quotes included), control characters removed."""
    return html.escape(clean(text), quote=True)


def render_markdown(text: str) -> str:
    """A student's markdown as safe HTML (see the module docstring); plain escaped text if mistune fails."""
    try:
        return str(_markdown(clean(text)))
    except Exception:  # noqa: BLE001 - a hostile answer must not stop the report
        return f'<pre class="raw">{escape(text)}</pre>\n'


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 1em 2em; color: #222; }
h2 { border-bottom: 2px solid #ccc; margin-top: 2em; }
section { border-top: 1px solid #ddd; padding-top: .5em; margin-top: 1.5em; }
.notebook { color: #666; font-weight: normal; font-size: .8em; }
.cols { display: grid; grid-template-columns: minmax(18em, 1fr) 2.4fr; gap: 1.5em; align-items: start; }
.rubric { background: #f6f6f0; border: 1px solid #ddd; padding: .5em 1em; position: sticky; top: .5em;
          max-height: 95vh; overflow: auto; font-size: .92em; }
.prompt { font-style: italic; }
.hintwords { color: #777; font-size: .85em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ddd; padding: .4em .6em; vertical-align: top; text-align: left; }
th { background: #eee; }
td.answer { overflow-wrap: anywhere; max-width: 50em; }
td.answer > :first-child, div.answer > :first-child { margin-top: 0; }
.badge { display: inline-block; border-radius: 3px; padding: 0 .4em; margin: .1em .2em .1em 0; font-size: .8em;
         background: #ffe08a; }
.badge.unreadable, .badge.unanswered, .badge.unchanged { background: #f5a5a5; }
.badge.duplicate { background: #d9b3ff; }
.kp { display: inline-block; min-width: 2.2em; margin: .1em; padding: 0 .3em; border: 1px solid #bbb;
      border-radius: 3px; font-size: .85em; color: #999; }
.kp.yes { background: #d8f0d0; border-color: #7b7; color: #222; }
.none { color: #999; font-style: italic; }
.image { color: #777; font-style: italic; }
.note { background: #eef4ff; border-left: 4px solid #79c; padding: .4em .8em; }
dl.flags dt { font-weight: bold; float: left; clear: left; margin-right: .5em; }
dl.flags dd { margin: 0 0 .2em 0; }
"""
# No scripts, no remote anything: even if escaping failed, a browser would run and fetch nothing.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"


def html_report(submissions: Sequence[Submission], rubric: dict[str, Question], *,
                questions: Sequence[str] = QUESTIONS, min_words: int = MIN_WORDS,
                title: str = "tpviz grade") -> str:
    """A self-contained HTML page: per question, every answer beside the rubric; per student, all of theirs."""
    ids = {id(sub): f"s{i}" for i, sub in enumerate(submissions, 1)}
    # Each answer is built once: the page shows it twice, by question and by student.
    shown = {(id(sub), q): _shown(sub.answers.get(q), rubric.get(q), min_words=min_words)
             for sub in submissions for q in sub.expected}
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n',
        '<meta name="referrer" content="no-referrer">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        f"<h1>{escape(title)}</h1>\n",
        f"<p class=\"summary\">{escape(summary(submissions, min_words=min_words))}</p>\n",
        f'<p class="note">{escape(HINT_NOTE)}</p>\n',
        _nav(submissions, ids, questions),
        '<h2 id="by-question">By question</h2>\n',
    ]
    for q in questions:
        rows = [sub for sub in submissions if q in sub.expected]
        parts.append(_question_section(q, rubric.get(q), rows, ids, shown))
    parts.append('<h2 id="by-student">By student</h2>\n')
    for sub in submissions:
        parts.append(_student_section(sub, flags(sub, min_words=min_words), ids[id(sub)], shown))
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def summary(submissions: Sequence[Submission], *, min_words: int = MIN_WORDS) -> str:
    """One line: how many submissions and notebooks, and how many of each flag."""
    files = sum(len(sub.files) for sub in submissions)
    unreadable = sum(1 for sub in submissions for nb in sub.files if nb.error)
    counts = {"unanswered": 0, "unchanged": 0, "short": 0}
    for sub in submissions:
        for q in sub.expected:
            s = status(sub.answers.get(q), min_words=min_words)
            if s in counts:
                counts[s] += 1
    duplicates = sum(1 for sub in submissions if sub.duplicates)
    return (f"{len(submissions)} submission{'s' * (len(submissions) != 1)} from {files} notebook"
            f"{'s' * (files != 1)}; {unreadable} unreadable; answers: {counts['unanswered']} unanswered, "
            f"{counts['unchanged']} unchanged from the template, {counts['short']} very short "
            f"(under {min_words} words); {duplicates} submission{'s' * (duplicates != 1)} flagged as duplicates.")


def _nav(submissions: Sequence[Submission], ids: dict[int, str], questions: Sequence[str]) -> str:
    qs = " ".join(f'<a href="#{q}">{q}</a>' for q in questions)
    students = " · ".join(f'<a href="#{ids[id(sub)]}">{escape(sub.name)}</a>' for sub in submissions)
    return f'<nav><p><b>Questions:</b> {qs}</p>\n<p><b>Students:</b> {students}</p></nav>\n'


class _Shown(NamedTuple):
    """One answer as the page shows it: its badges, its text and its key-point marks (HTML)."""

    badges: str
    body: str
    hints: str


def _shown(answer: Answer | None, question: Question | None, *, min_words: int) -> _Shown:
    return _Shown(_badges(answer, min_words=min_words), _answer_html(answer), _hints(question, answer))


def _badges(answer: Answer | None, *, min_words: int) -> str:
    s = status(answer, min_words=min_words)
    out = []
    if s == "unanswered":
        out.append('<span class="badge unanswered">unanswered</span>')
    elif s == "unchanged":
        out.append('<span class="badge unchanged">unchanged from the template</span>')
    elif s == "short" and answer is not None:
        out.append(f'<span class="badge short">very short: {answer.words} word{"s" * (answer.words != 1)}</span>')
    if answer is None:
        out.append('<span class="badge">not found</span>')
    elif answer.found != "grade_id":
        out.append(f'<span class="badge">found {escape(answer.found)}</span>')
    elif answer.extra_cells:
        out.append(f'<span class="badge">+ {answer.extra_cells} cell{"s" * (answer.extra_cells > 1)} after '
                   "the answer cell</span>")
    if answer is not None and answer.chars > len(answer.text):
        out.append(f'<span class="badge">cut to {len(answer.text):,} of {answer.chars:,} characters</span>')
    return "".join(out)


def _answer_html(answer: Answer | None) -> str:
    if answer is None or not answer.text.strip():
        return '<p class="none">no answer</p>\n'
    if is_template(answer.text):
        return f'<p class="none">{escape(answer.text.strip())}</p>\n'
    return render_markdown(answer.text)


def _hints(question: Question | None, answer: Answer | None) -> str:
    if question is None or not question.key_points:
        return ""
    if answer is None or status(answer) in ("unanswered", "unchanged"):
        return ""
    marks = []
    for i, kp in enumerate(question.key_points, 1):
        found = kp.found_in(answer.text)
        if found:
            words = ", ".join(found)
            marks.append(f'<span class="kp yes" title="key point {i}: hint words found: {escape(words)}">{i} \u2713</span>')
        else:
            marks.append(f'<span class="kp" title="key point {i}: no hint word found">{i} \u00b7</span>')
    return "".join(marks)


def _rubric_html(q: str, question: Question | None) -> str:
    if question is None:
        return f'<aside class="rubric"><p class="none">No rubric for {escape(q)}.</p></aside>\n'
    points = "".join(f"<li>{escape(kp.point)}<br><span class=\"hintwords\">hint words: "
                     f"{escape(', '.join(kp.hints))}</span></li>\n" for kp in question.key_points)
    wrong = "".join(f"<li>{escape(m)}</li>\n" for m in question.misconceptions)
    return (f'<aside class="rubric">\n<div class="prompt">{render_markdown(question.prompt)}</div>\n'
            f"<h4>Key points a good answer makes</h4>\n<ol>\n{points}</ol>\n"
            f"<h4>Common misconceptions</h4>\n<ul>\n{wrong}</ul>\n</aside>\n")


def _question_section(q: str, question: Question | None, rows: Sequence[Submission], ids: dict[int, str],
                      shown: dict[tuple[int, str], _Shown]) -> str:
    heading = f"Question {escape(q[1:])}" + (f": {escape(question.title)}" if question else "")
    notebook = f' <span class="notebook">{escape(question.notebook)}</span>' if question else ""
    body = []
    for sub in rows:
        s = shown[id(sub), q]
        body.append(f'<tr><td><a href="#{ids[id(sub)]}">{escape(sub.name)}</a><br>{s.badges}</td>\n'
                    f'<td class="answer">{s.body}</td>\n<td class="hints">{s.hints}</td></tr>\n')
    table = ("<table>\n<thead><tr><th>submission</th><th>answer</th><th>key points it seems to touch "
             "(hint, not a grade)</th></tr></thead>\n<tbody>\n" + "".join(body) + "</tbody>\n</table>\n"
             if body else '<p class="none">No submission has this question.</p>\n')
    return (f'<section class="question" id="{escape(q)}">\n<h3>{heading}{notebook}</h3>\n<div class="cols">\n'
            f"{_rubric_html(q, question)}<div>\n{table}</div>\n</div>\n</section>\n")


def _student_section(sub: Submission, sub_flags: dict[str, str], sid: str,
                     shown: dict[tuple[int, str], _Shown]) -> str:
    files = "".join(f"<li>{escape(str(nb.path))}</li>\n" for nb in sub.files)
    listed = [(key, value) for key, value in sub_flags.items() if value]
    flag_html = ('<dl class="flags">\n' + "".join(f"<dt>{escape(_LABELS[k])}:</dt><dd>{escape(v)}</dd>\n"
                                                  for k, v in listed) + "</dl>\n"
                 if listed else '<p class="none">no flags</p>\n')
    answers = []
    for q in sub.expected:
        s = shown[id(sub), q]
        answers.append(f'<h4><a href="#{escape(q)}">Question {escape(q[1:])}</a> {s.badges}</h4>\n'
                       f'<div class="answer">{s.body}</div>\n<p class="hints">{s.hints}</p>\n')
    return (f'<section class="student" id="{sid}">\n<h3>{escape(sub.name)}</h3>\n<ul class="files">\n{files}</ul>\n'
            f"{flag_html}{''.join(answers)}</section>\n")
