"""``neurovar reproduce``: the literature registry against the catalog, and the HTML reports in Chromium.

The slow tests run ``neurovar reproduce --quick`` once (real Prefect flow, local Dask cluster) and
reuse its catalog: the planted-value test, the resume test and the headless-Chromium tests.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from math import comb

import pytest

from neurovar.catalog.literature import UNNUMBERED, claim_cells, load_registry, safe_eval
from neurovar.catalog.literature.compare import compare_claim
from neurovar.pipeline.cells import run_cell
from neurovar.pipeline.errors import SpecError


# ----------------------------------------------------------------------------- the registry
#: a numbered place: the kind of statement and its number, or one of the talk's (titled) tables
NUMBERED_PLACE = re.compile(r"^(Theorem|Proposition|Corollary|Lemma|Example|Conjecture|Section) \d+(\.\d+)*\b|^Table ")


def test_registry_claims_have_places_and_valid_cells():
    reg = load_registry()
    claims = [c for p in reg.values() for c in p.claims]
    assert len(reg) >= 8 and len(claims) >= 40
    for c in claims:
        # every claim cites a theorem, proposition, corollary, lemma, example, conjecture, section or table by number
        assert NUMBERED_PLACE.match(c.place) and c.numbered, (c.id, c.place)
        assert c.claim and c.read is not None
        assert claim_cells(c), c.id  # every grid fragment expands into valid cells
    quick_counted = [c for c in claims if c.quick and c.confirmed and c.numbered]
    assert len(quick_counted) >= 40
    assert len({c.paper for c in quick_counted}) >= 8
    # an abstract, a slide or a section title is not a numbered place
    for place in ("Abstract (non-increasing widths)", "Slide 'Lightning Self-Attention'", "Section 'dimension'",
                  "Example (Eckart-Young; number not read)"):
        assert not NUMBERED_PLACE.match(place)
        assert not type(claims[0])(**{**claims[0].__dict__, "place": place}).numbered
    # the Alexander-Hirschowitz file lists every exception of the theorem, in network terms (N = n + 1 variables)
    ah = reg["alexander-hirschowitz"].claims
    sporadic = set()
    quadrics = set()
    for c in ah:
        if c.compare != "at_most":
            continue
        for cell in claim_cells(c):
            n, k, _ = cell.model["widths"]
            d = int(cell.model["activation"][2:])
            (quadrics if d == 2 else sporadic).add((n, k) if d == 2 else (n, d, k))
    assert sporadic == {(3, 4, 5), (4, 4, 9), (5, 3, 7), (5, 4, 14)}
    assert quadrics == {(n, k) for n in (3, 4, 5) for k in range(2, n)}


def test_unnumbered_claims_are_a_registry_of_their_own():
    """Claims without a readable numbered place stay runnable (``--registry``) but out of the default registry."""
    default = load_registry()
    other = load_registry(UNNUMBERED)
    ids = {c.id for p in default.values() for c in p.claims}
    for p in other.values():
        for c in p.claims:
            assert c.id not in ids and not (c.confirmed and c.numbered), c.id
            assert claim_cells(c), c.id


def test_safe_eval_is_arithmetic_only():
    assert safe_eval("min(n*k, comb(n + d - 1, d)) - 1", {"n": 3, "k": 5, "d": 4}) == min(15, comb(6, 4)) - 1
    assert safe_eval("6*(k-1)**2 - 6*(k-1) + 1", {"k": 4}) == 37
    for bad in ("__import__('os')", "n.__class__", "open('x')", "[i for i in range(3)]", "'a' * 3"):
        with pytest.raises(SpecError):
            safe_eval(bad, {"n": 1})


def test_a_claim_reproduced_and_planted_in_process():
    """Compare without the flow: the theorem's value reproduces, a planted value differs with key and rerun."""
    import dataclasses

    claim = next(c for c in load_registry()["alexander-hirschowitz"].claims if c.id == "ah-sporadic-p2-quartics")
    cells = claim_cells(claim)
    rows = {c.key: run_cell(c) for c in cells}
    ok = compare_claim(claim, cells, rows)
    assert ok.status == "reproduced" and ok.computed == "14"  # plane quartics, 5 summands: 15 - 1
    wrong = dataclasses.replace(claim, formula="min(n*k, comb(n + d - 1, d)) - 2")
    r = compare_claim(wrong, cells, rows)
    assert r.status == "differs" and r.computed == "14" and r.published == "<= 13"
    assert r.first_bad.cell_key == cells[0].key
    assert r.first_bad.rerun.startswith("neurovar compute dimension --model mlp --widths 3,5,1")


def test_a_timed_out_cell_is_unreached_with_what_would_reach_it():
    from neurovar.pipeline.cells import failed_record

    claim = next(c for c in load_registry()["usevich2025"].claims if c.id == "usevich-conj40-3221")
    cells = claim_cells(claim)
    rows = {c.key: failed_record(c, "timeout", "time limit of 600 s reached", 600.0) for c in cells}
    r = compare_claim(claim, cells, rows)
    assert r.status == "unreached" and "status timeout" in r.reason and "msolve" in r.reach
    assert compare_claim(claim, cells, {}).status == "unreached"  # not in the catalog at all


def test_malformed_registry_names_the_field(tmp_path, cli):
    src = load_registry()["hmk2025"].path
    bad = tmp_path / "reg"
    bad.mkdir()
    (bad / src.name).write_text(src.read_text().replace("compare: equal", "compare: roughly"))
    with pytest.raises(SpecError) as e:
        load_registry(bad)
    assert "compare" in e.value.field
    r = cli("reproduce", "--registry", bad, "--results", tmp_path / "res", timeout=120)
    assert r.returncode == 2
    assert "compare: must be one of equal, formula, at_most, at_least" in r.stderr
    assert not (tmp_path / "res").exists()  # nothing written
    r = cli("reproduce", "no-such-paper", "--results", tmp_path / "res", timeout=120)
    assert r.returncode == 2 and "unknown paper 'no-such-paper'" in r.stderr


# ----------------------------------------------------------------------------- the quick run
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from tests.conftest import neurovar_cmd

    root = tmp_path_factory.mktemp("reproduce")
    results = root / "results"
    proc = subprocess.run(neurovar_cmd() + ["reproduce", "--quick", "--results", str(results), "--workers", "2",
                                            "--json"], capture_output=True, text=True, timeout=1500)
    return results, proc


@pytest.mark.slow
def test_quick_reproduces_40_numbered_claims(quick_run):
    results, proc = quick_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    s, claims = data["summary"], data["claims"]
    assert s["differs"] == 0 and s["unreached"] == 0 and s["reproduced"] == len(claims)
    assert s["numbered_confirmed_reproduced"] >= 40
    assert s["papers_numbered_confirmed_reproduced"] >= 8 and s["papers_reproduced"] >= 8
    assert all(NUMBERED_PLACE.match(c["place"]) for c in claims)
    by_id = {c["id"]: c for c in claims}
    # values anyone can check: AH exceptions one below the count, the talk's ED degree 14, Prop. 16's bound
    assert by_id["ah-sporadic-p4-cubics"]["computed"] == "34"      # 35 - 1
    assert by_id["ah-sporadic-p4-quartics"]["computed"] == "69"    # 70 - 1
    assert by_id["talk-attention-edd-generic"]["computed"] == json.dumps({"edd": 14, "positive_dimensions": []})
    assert by_id["talk-psd-k2"]["computed"] == json.dumps({"edd": 4, "positive_dimensions": [1]})
    assert int(by_id["frwy-prop16-binary-linear-k4"]["computed"]) <= 37
    # Usevich et al. Example 9 / Proposition 10: (3, 2, 2) with x^2 has dimension 6 + 4 - 2 = 8
    assert by_id["usevich-prop10-ex9-322-dimension"]["computed"] == "8"
    # Newman-Slater (Theorem 1.1 of Kohn-Marchetti-Massarenti-Mella): the Pythagorean triple is dependent only at r = 2
    assert by_id["kmmm-thm11-pythagorean-triple"]["computed"] == "2"
    for name in ("reproduction.md", "reproduction.html", "reproduction.json", "status.png"):
        assert (results / "reproduce" / name).is_file()
    md = (results / "reproduce" / "reproduction.md").read_text()
    for c in claims:  # every claim has a table row linking to its rows
        assert f"(#rows-{c['id']})" in md and f'<a id="rows-{c["id"]}"></a>' in md


@pytest.mark.slow
def test_rerun_computes_nothing(quick_run, cli, tmp_path):
    results, proc = quick_run
    assert proc.returncode == 0
    r = cli("reproduce", "ktb2019", "alexander-hirschowitz", "--quick", "--results", results, "--workers", "1",
            "--out", tmp_path / "out", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"reproduce: (\d+) cells, (\d+) already in .*, 0 to compute", " ".join(r.stderr.split()))
    assert m and m.group(1) == m.group(2), r.stderr


@pytest.mark.slow
def test_quick_prints_a_summary_within_80_columns(quick_run, cli, tmp_path):
    results, proc = quick_run
    assert proc.returncode == 0
    papers = {c["paper"] for c in json.loads(proc.stdout.strip().splitlines()[-1])["claims"]}
    r = cli("reproduce", "--quick", "--results", results, "--workers", "1", "--out", tmp_path / "out",
            env={"COLUMNS": "80"}, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) <= 30 and all(len(ln) <= 80 for ln in lines) and "…" not in r.stdout, r.stdout
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines if ln.split()[:1] and ln.split()[0] in papers}
    assert set(rows) == papers  # one line per paper: claims, reproduced, differs, unreached
    assert all(v[0] == v[1] and v[2:] == ["0", "0"] for v in rows.values()), rows
    assert (tmp_path / "out" / "reproduction.html").is_file()


@pytest.mark.slow
def test_planted_wrong_value_differs_and_exits_1(quick_run, cli, tmp_path):
    results, proc = quick_run
    assert proc.returncode == 0
    copy = tmp_path / "registry"
    shutil.copytree(load_registry()["hmk2025"].path.parent, copy,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__", "unnumbered"))
    path = copy / "hmk2025.yaml"
    text = path.read_text()
    block = text.split("- id: hmk-single-layer-d2", 1)[1].split("- id:", 1)[0]
    assert "published: 5" in block  # the attention quartic is a hypersurface in R^6
    path.write_text(text.replace(block, block.replace("published: 5", "published: 6")))
    r = cli("reproduce", "hmk2025", "talk", "--registry", copy, "--results", results, "--workers", "1", "--out",
            tmp_path / "out", timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    out = " ".join(r.stdout.split())
    assert "differs hmk-single-layer-d2" in out
    assert "computed 5, published 6" in out
    assert "rerun: neurovar compute dimension --model attention --d 2 --d-out 1 --n 2 --t 2" in out
    data = json.loads((tmp_path / "out" / "reproduction.json").read_text())
    bad = [c for c in data["claims"] if c["status"] == "differs"]
    assert [c["id"] for c in bad] == ["hmk-single-layer-d2"]
    assert re.fullmatch(r"[0-9a-f]{24}", bad[0]["cell_key"])
    assert all(c["status"] == "reproduced" for c in data["claims"] if c["id"] != bad[0]["id"])


# ----------------------------------------------------------------------------- HTML in a real browser
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


PROBE = """<script>window.addEventListener('load', () => {
  const imgs = Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight, i.complete]);
  const out = {imgs: imgs, claimRows: document.querySelectorAll('tr[id^="claim-"]').length,
               bodyRows: document.querySelectorAll('tbody tr').length,
               tables: document.querySelectorAll('table').length, title: document.title};
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""


def render(page, tmp_path) -> dict:
    """Load ``page`` (a copy with a probe script) in headless Chromium and return what the probe measured."""
    exe = _chromium()
    copy = tmp_path / ("probe-" + page.name)
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=10000",
                           "--dump-dom", copy.as_uri()], capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"no probe output; chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1)))


@pytest.mark.slow
def test_reproduction_html_renders_in_chromium(quick_run, tmp_path):
    if _chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get)")
    results, proc = quick_run
    assert proc.returncode == 0
    claims = json.loads(proc.stdout.strip().splitlines()[-1])["claims"]
    page = results / "reproduce" / "reproduction.html"
    assert "src=\"data:image/png;base64," in page.read_text()  # self-contained: no file next to it needed
    got = render(page, tmp_path)
    assert got["claimRows"] == len(claims)
    assert got["imgs"] and all(w > 0 and h > 0 and done for w, h, done in got["imgs"])


@pytest.mark.slow
def test_report_html_renders_in_chromium(quick_run, tmp_path, cli):
    if _chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get)")
    results, proc = quick_run
    assert proc.returncode == 0
    out = tmp_path / "report"
    r = cli("report", "--results", results, "--out", out, "--html", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    page = out / "report.html"
    text = page.read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs and text.count('src="data:image/png;base64,') == len(pngs)
    md = (out / "report.md").read_text()
    md_rows = sum(1 for line in md.splitlines() if line.startswith("|") and not line.startswith("|---"))
    md_tables = sum(1 for line in md.splitlines() if line.startswith("|---"))
    got = render(page, tmp_path)
    assert got["tables"] == md_tables and got["bodyRows"] == md_rows - md_tables  # every markdown row, minus headers
    assert len(got["imgs"]) == len(pngs) and all(w > 0 and h > 0 and done for w, h, done in got["imgs"])
