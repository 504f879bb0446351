"""Output for people: a one-cell answer first, and tables that fit the terminal.

:func:`fit_table` lays rows out in plain text within a width (80 columns and
more): with the full headers if they fit, else with short headers and a legend
line that explains each one, else vertically (one ``header: value`` block per
row, long values wrapped). A cell is never cut, so nothing ends in "…".
:func:`answer_lines` is the short block a single ``neurovar compute`` prints: the
numbers and what they mean; the record's provenance is printed under
``--verbose``. This module imports only the standard library and
``neurovar.pipeline.alexander_hirschowitz`` (a one-cell call stays fast).

>>> for line in fit_table(["name", "supports", "verdict"], [["alexander-hirschowitz", "12", "supported"]], 80):
...     print(line.rstrip())
name                   supports  verdict
alexander-hirschowitz        12  supported
>>> for line in fit_table(["name", "supports", "verdict"], [["alexander-hirschowitz", "12", "supported"]], 38,
...                       short={"supports": "sup"}):
...     print(line.rstrip())
name                   sup  verdict
alexander-hirschowitz   12  supported
sup = supports
>>> for line in fit_table(["name", "verdict"], [["alexander-hirschowitz", "supported"]], 30):
...     print(line.rstrip())
name: alexander-hirschowitz
verdict: supported
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Callable, Sequence


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?\d+(\.\d+)?", text.strip()))


def _layout(headers: Sequence[str], rows: Sequence[Sequence[str]], sep: str, indent: str = "") -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(_is_number(r[i]) or r[i] == "" for r in rows) for i in range(len(headers))]

    def line(cells):
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)]
        return (indent + sep.join(parts)).rstrip()

    return [line(headers)] + [line(r) for r in rows]


def fit_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = 80,
              short: dict[str, str] | None = None, short_cells: dict[str, dict[str, str]] | None = None,
              indent: str = "") -> list[str]:
    """Lines of a table no wider than ``width``: full headers, else ``short`` ones (and the cells
    of a column named in ``short_cells`` abbreviated) with a legend line, else one
    ``header: value`` block per row."""
    rows = [[str(c) for c in r] for r in rows]
    fits = lambda lines: all(len(x) <= width for x in lines)  # noqa: E731
    lines = _layout(headers, rows, "  ", indent)
    if fits(lines):
        return lines
    short, short_cells = short or {}, short_cells or {}
    abbrev = [short.get(h, h) for h in headers]
    explained = [f"{short[h]} = {h}" for h in headers if h in short]
    cols = {i: short_cells[h] for i, h in enumerate(headers) if h in short_cells}
    used = {i: sorted({r[i] for r in rows} & set(m)) for i, m in cols.items()}
    explained += [", ".join(f"{cols[i][v]} = {v}" for v in vs) for i, vs in used.items() if vs]
    small = [[cols[i].get(c, c) if i in cols else c for i, c in enumerate(r)] for r in rows]
    notes = textwrap.wrap("; ".join(explained), width, break_on_hyphens=False) if explained else []
    for sep in ("  ", " "):
        lines = _layout(abbrev, small, sep, indent)
        if fits(lines):
            return lines + notes
    out: list[str] = []
    for r in rows:
        if out:
            out.append("")
        for h, c in zip(headers, r):
            out += textwrap.wrap(f"{h}: {c}", width, subsequent_indent=indent + "    ",
                                 initial_indent=indent, break_on_hyphens=False, break_long_words=False) or [f"{indent}{h}:"]
    return out


def initials(headers: Sequence[str], keep: int = 10) -> dict[str, str]:
    """Short names for the long headers: the initials of ``snake_case`` words, made unique.

    >>> initials(["widths", "expected_dimension", "only_known_symmetries", "fiber_dimension"])
    {'expected_dimension': 'ed', 'only_known_symmetries': 'oks', 'fiber_dimension': 'fd'}
    """
    out: dict[str, str] = {}
    taken = {h for h in headers if len(h) <= keep}
    for h in headers:
        if len(h) <= keep:
            continue
        words = [w for w in re.split(r"[_\s-]+", h) if w]
        cand = "".join(w[0] for w in words) if len(words) > 1 else h[:4]
        base, n = cand, 2
        while cand in taken:
            cand, n = f"{base}{n}", n + 1
        taken.add(cand)
        out[h] = cand
    return out


def print_lines(console, lines: Sequence[str], styles: dict[str, str] | None = None) -> None:
    """Print plain lines on a rich console, a line's last word in its style (``styles[word]``)."""
    from rich.markup import escape

    for line in lines:
        text = escape(line)
        for word, style in (styles or {}).items():
            if line.rstrip().endswith(word):
                i = len(line.rstrip()) - len(word)
                text = escape(line[:i]) + f"[{style}]{escape(word)}[/]"
                break
        console.print(text, highlight=False, soft_wrap=True)


def temporary_server_line(address: str) -> str:
    """What a run on Prefect's temporary server tells the user about keeping its UI.

    >>> temporary_server_line("http://127.0.0.1:8123")  # doctest: +ELLIPSIS
    'Prefect UI: http://127.0.0.1:8123, a temporary server that ends with this run; to keep one, run ...'
    """
    return (f"Prefect UI: {address}, a temporary server that ends with this run; to keep one, run "
            "`neurovar server start` and set PREFECT_API_URL to the URL it prints")


# --------------------------------------------------------------------------
# one cell: the answer first
# --------------------------------------------------------------------------

def _tuple(v) -> str:
    return "(" + ",".join(str(x) for x in v) + ")" if isinstance(v, (list, tuple)) else str(v)


def model_text(rec: dict) -> str:
    """``mlp (3,5,1), x^4`` (and the model's other fields): the network a record is about."""
    spec = rec.get("cell_spec")
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = None
    model = (spec or {}).get("model") if isinstance(spec, dict) else None
    if not model:
        return ""
    parts = [str(model.get("model", ""))]
    if model.get("widths") is not None:
        parts[0] += " " + _tuple(model["widths"])
    for k, v in model.items():
        if k in ("model", "widths") or v is None or v is False:
            continue
        parts.append(str(v) if k == "activation" else (k if v is True else f"{k}={_tuple(v)}"))
    return ", ".join(parts)


def _monomial_degree(activation) -> int | None:
    m = re.fullmatch(r"\s*x\s*(?:\^|\*\*)\s*(\d+)\s*", str(activation or ""))
    return int(m.group(1)) if m else None


def _dimension(rec: dict) -> list[str]:
    from neurovar.pipeline.alexander_hirschowitz import ah_exceptional

    d, exp, amb, defect = rec["dimension"], rec["expected_dimension"], rec["ambient_dimension"], rec["defect"]
    out = [f"dimension {d}: the neurovariety of {model_text(rec)}"]
    w, r = rec.get("widths"), _monomial_degree(rec.get("activation"))
    ah = (rec.get("model") == "mlp" and not rec.get("bias") and isinstance(w, (list, tuple)) and len(w) == 3
          and w[-1] == 1 and r is not None and r >= 2)
    if defect:
        out.append(f"defect {defect}: expected {exp}, actual {d}")
        if ah and ah_exceptional(w[0], w[1], r):
            out.append(f"  {_tuple(w)} with {rec.get('activation')} is an Alexander–Hirschowitz exception")
    else:
        out.append(f"defect 0: the expected dimension, {exp}")
    out.append(f"expected {exp} = min({rec['num_params']} parameters - {rec['symmetry_dimension']} symmetries, "
               f"ambient {amb})")
    out.append(("filling (the whole ambient space)" if rec.get("filling") else f"not filling (ambient dimension {amb})")
               + f"; generic fiber dimension {rec['fiber_dimension']}")
    check = rec.get("float_rank_agrees")
    out.append(f"exact rank mod p = {_prime_text(rec.get('prime_used', rec.get('prime')))}"
               + ("" if check is None else f"; float rank {rec.get('float_rank')} " + ("agrees" if check else "DISAGREES")))
    return out


def _prime_text(p) -> str:
    """``2^61-1`` for a Mersenne prime, else the number."""
    try:
        p = int(p)
    except (TypeError, ValueError):
        return str(p)
    return f"2^{(p + 1).bit_length() - 1}-1" if p > 3 and (p + 1) & p == 0 else str(p)


def _fiber(rec: dict) -> list[str]:
    out = [f"generic fiber of {model_text(rec)}",
           f"dimension {rec['fiber_dimension']} (the symmetry group's: {rec['symmetry_dimension']})"]
    if rec.get("positive_dimensional"):
        out.append("positive-dimensional after the gauge: no finite count")
    elif rec.get("fiber_points") is not None:
        n, only = rec["fiber_points"], rec.get("only_known_symmetries")
        out.append(f"{n} point{'' if n == 1 else 's'} after the gauge; the known symmetries give "
                   f"{rec.get('expected_fiber_points')}"
                   + ("; no others" if only else "; MORE than the known symmetries" if only is False else ""))
    out.append(f"method {rec.get('method')}" + (f"; {rec['completeness']}" if rec.get("completeness") else ""))
    return out


def _edd(rec: dict) -> list[str]:
    variety = model_text(rec) or (f"V({rec['equations']})" if rec.get("equations") else "")
    where = f" of {variety}" if variety else ""
    if rec.get("positive_dimensional"):
        out = [f"ED degree{where}: the critical locus is positive-dimensional (no finite count)"]
    else:
        out = [f"ED degree {rec.get('edd')}{where}",
               "  the complex critical points of the squared distance to a generic point"]
    if rec.get("real_critical_points") is not None:
        out.append(f"real critical points at this data point: {rec['real_critical_points']}")
    out.append(f"method {rec.get('method_used', rec.get('method'))}"
               + (f"; {rec['completeness']}" if rec.get("completeness") else ""))
    return out


def _independence(rec: dict) -> list[str]:
    k, r = rec.get("k"), rec.get("r")
    verdict = "linearly independent" if rec.get("independent") else "linearly DEPENDENT"
    out = [f"s(p_1), ..., s(p_{k}) with r = {r}: {verdict} (rank {rec.get('rank')})"]
    if rec.get("bound") is not None:
        out.append(f"proven bound (Prop. 16): independent for r > {rec['bound']}")
    if rec.get("dependent_tuple"):
        out.append(f"a dependent tuple: {rec['dependent_tuple']}")
    return out


def _threshold(rec: dict) -> list[str]:
    out = [f"smallest r from which s_r(p_1..p_{rec.get('k')}) stay independent: {rec.get('min_r')}",
           f"proven bound (Prop. 16): r > {rec.get('bound')}"
           + ("; the threshold EXCEEDS it" if rec.get("exceeds_bound") else "; within it")]
    if rec.get("worst_tuple"):
        out.append(f"worst tuple: {rec['worst_tuple']}")
    return out


def _bias(rec: dict) -> list[str]:
    counts = rec.get("counts") or {}
    out = [f"strata of the global minimiser over {rec.get('samples')} samples of data, {model_text(rec)}:",
           "counts    " + (", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none")]
    iv = rec.get("intervals") or {}
    shown = [f"{k} [{v[0]:.3g}, {v[1]:.3g}]" for k, v in iv.items() if counts.get(k)]
    if shown:
        out.append("intervals " + ", ".join(shown) + " (95 % Wilson)")
    out.append(f"certified {rec.get('certified')}, uncertified {rec.get('uncertified')}")
    return out


def _singularities(rec: dict) -> list[str]:
    return [f"dimension {rec['dimension']} of {model_text(rec)} (ambient {rec['ambient_dimension']}, "
            f"{rec['num_params']} parameters)",
            f"{rec['num_subnetworks']} sparse subnetworks: {rec['num_singular']} in Sing(M), {rec['num_smooth']} "
            f"smooth, {rec['num_undecided']} undecided; {rec['num_critical']} critical",
            f"equations of M: {rec['equations_count']} of degree {rec['equations_degree']}; "
            f"confirmed {rec.get('confirmed')}, converse {rec.get('converse')}",
            "each subnetwork: --verbose"]


_ANSWERS: dict[str, Callable[[dict], list[str]]] = {
    "dimension": _dimension, "fiber": _fiber, "edd": _edd, "independence": _independence,
    "independence-threshold": _threshold, "bias": _bias, "singularities": _singularities,
}


def _value(v) -> str:
    return json.dumps(v, separators=(", ", ": "), default=str) if isinstance(v, (list, dict, tuple)) else str(v)


def answer_lines(rec: dict, outputs: Sequence[str] = (), width: int = 80) -> list[str]:
    """The answer block of one record: the numbers and what they mean, no line over ``width``."""
    comp = rec.get("computation", "")
    if rec.get("status") != "ok":
        lines = [f"{comp} of {model_text(rec)}: {rec.get('status')}"]
    else:
        try:
            lines = _ANSWERS[comp](rec)
        except (KeyError, TypeError, IndexError):  # a computation without its own block: its outputs
            lines = [f"{comp}" + (f" of {model_text(rec)}" if model_text(rec) else "")]
            lines += [f"{k}: {_value(rec[k])}" for k in outputs if rec.get(k) is not None]
    out: list[str] = []
    for ln in lines:
        out += textwrap.wrap(ln, width, subsequent_indent="    ", break_on_hyphens=False, break_long_words=False) or [""]
    return out


def record_lines(rec: dict, width: int = 80) -> list[str]:
    """Every column of a record, ``name  value`` a line, long values wrapped under the value.

    >>> record_lines({"dimension": 14, "cell_spec": {"model": {"widths": [3, 5, 1]}}}, 40)
    ['dimension  14', 'cell_spec  {"model": {"widths": [3, 5,', '           1]}}']
    """
    pad = max((len(k) for k in rec), default=0) + 2
    out: list[str] = []
    for k, v in rec.items():
        out += textwrap.wrap(_value(v), width, initial_indent=k.ljust(pad), subsequent_indent=" " * pad,
                             break_on_hyphens=False, break_long_words=False) or [k]
    return out


def print_record(rec: dict) -> None:
    """``--verbose``: the whole record (outputs and provenance) after the answer."""
    import shutil

    print("\nthe record (outputs and provenance):")
    for line in record_lines(rec, shutil.get_terminal_size((80, 24)).columns):
        print(line)


def print_answer(rec: dict, outputs: Sequence[str] = ()) -> None:
    """Print :func:`answer_lines` at the terminal's width (``COLUMNS``; 80 when not a terminal)."""
    import shutil

    for line in answer_lines(rec, outputs, shutil.get_terminal_size((80, 24)).columns):
        print(line)


#: ``neurovar check``: the verdicts' colours, and the short headers and kinds at 80 columns
VERDICT_STYLES = {"violated": "bold red", "broken": "bold red", "counterexample": "bold yellow",
                  "supported": "green", "outside range": "cyan", "no data": "dim"}
CHECK_SHORT = {"supports": "sup", "violates": "vio", "outside range": "out", "broken": "brk"}
KIND_SHORT = {"theorem": "thm", "conjecture": "conj", "derived": "der"}


def print_check_table(console, verdicts, title: str) -> None:
    """The verdicts of ``neurovar check``, grouped by computation, in the console's width."""
    headers = ["name", "kind", "supports", "violates", "outside range", "n/a", "broken", "verdict"]
    rows, groups = [], []
    for v in verdicts:
        n = v.counts
        groups.append(v.conjecture.computation)
        rows.append([v.conjecture.name, v.conjecture.kind, n["supports"], n["violates"], n["outside"],
                     n["not_applicable"], n["broken"], v.status])
    lines = fit_table(headers, rows, console.width - 2, short=CHECK_SHORT, short_cells={"kind": KIND_SHORT})
    console.print(f"{title}: {len(rows)} statements", highlight=False)
    vertical = not lines or lines[0].startswith("name:")
    if vertical:
        print_lines(console, lines, VERDICT_STYLES)
        return
    head, body, notes = lines[0], lines[1:1 + len(rows)], lines[1 + len(rows):]
    print_lines(console, ["  " + head])
    for comp in dict.fromkeys(groups):
        console.print(comp, style="bold", highlight=False)
        print_lines(console, ["  " + b for b, g in zip(body, groups) if g == comp], VERDICT_STYLES)
    print_lines(console, notes)


def reproduce_lines(results, title: str, width: int = 80, verbose: bool = False) -> list[str]:
    """``neurovar reproduce``: one line per paper, then the claims that differ or were not reached
    (each claim, computed against published, with ``verbose``; the HTML report has them all)."""
    papers: dict[str, list] = {}
    for r in results:
        papers.setdefault(r.claim.paper, []).append(r)
    rows = []
    for paper, rs in papers.items():
        n = {k: sum(r.status == k for r in rs) for k in ("reproduced", "differs", "unreached")}
        rows.append([paper, len(rs), n["reproduced"], n["differs"], n["unreached"]])
    out = [title] + fit_table(["paper", "claims", "reproduced", "differs", "unreached"], rows, width)
    for r in results:
        bad = r.status != "reproduced"
        if not (bad or verbose):
            continue
        tag = "" if r.claim.confirmed else " (unconfirmed)"
        line = f"{r.status} {r.claim.id}{tag} ({r.claim.place}): computed {r.computed}, published {r.published}"
        if r.status == "differs" and r.first_bad is not None:
            line += f"; cell {r.first_bad.cell_key}" + (f"; rerun: {r.first_bad.rerun}" if r.first_bad.rerun else "")
        elif r.status == "unreached":
            line = f"unreached {r.claim.id}: {r.reason}" + (f"; would reach it: {r.reach}" if verbose else "")
        out += textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False, break_long_words=False)
    return out
