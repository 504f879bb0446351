"""The documentation site: `mkdocs build --strict` passes, and in headless Chromium every internal
link of every page resolves (pages, anchors, images, style sheets, scripts), and the tutorial
renders with its figure (a screenshot is kept for a person to look at).

The build needs the `docs` extra (`pip install -e '.[docs]'`; `.ci/run` installs it), the
browser check the Debian package `chromium` (`.ci/run` installs it).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: where the tutorial's screenshot is kept after a run (ignored by git)
SCREENSHOT = REPO / "site-screenshots" / "tutorial.png"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site") / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}"
    return out


def test_strict_build_has_every_page_and_generated_table(site):
    # every page of the nav was written, and the generated tables hold the registry's content
    for page in ("index", "getting-started", "tutorial", "columns", "literature", "api", "benchmarks", "changelog",
                 "cluster", "analysis", "computations/dimension", "computations/fiber", "computations/edd"):
        assert (site / f"{page}.html").is_file(), page
    from neurovar.catalog.literature import load_registry
    from neurovar.pipeline.compute import computations

    literature = (site / "literature.html").read_text()
    claims = [c.id for p in load_registry().values() for c in p.claims]
    assert claims and all(f"<code>{c}</code>" in literature for c in claims)
    columns = (site / "columns.html").read_text()
    for comp in computations().values():
        assert all(f"<code>{col}</code>" in columns for col in comp.output_columns().values()), comp.name
    # the API reference was rendered from the docstrings (a signature and a numpy-style section)
    api = (site / "api.html").read_text()
    assert "run_cell" in api and "Conjecture" in api and "thresholds" in api


@pytest.fixture(scope="module")
def server(site):
    from tests.servers import free_port

    handler = functools.partial(_Quiet, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401 - silence the per-request log
        pass


# The crawler runs inside the browser: from index.html it fetches every internal page it finds,
# parses it with the browser's DOMParser, and checks every internal reference: a page or file must
# answer 200, an anchor must name an element of its page, an image must decode (naturalWidth > 0).
CRAWLER = """<!doctype html><html><body><script>
(async () => {
  const origin = location.origin, seen = new Set(), queue = ['/index.html'], broken = [], docs = {};
  let links = 0, images = 0;
  const norm = (u) => { const x = new URL(u); return x.pathname.endsWith('/') ? x.pathname + 'index.html' : x.pathname; };
  async function page(path) {
    if (!(path in docs)) {
      const r = await fetch(path);
      docs[path] = r.ok ? new DOMParser().parseFromString(await r.text(), 'text/html') : null;
    }
    return docs[path];
  }
  const status = {};
  async function ok(path) { if (!(path in status)) status[path] = (await fetch(path)).ok; return status[path]; }
  const decodes = (src) => new Promise((res) => { const i = new Image(); i.onload = () => res(i.naturalWidth > 0);
                                                   i.onerror = () => res(false); i.src = src; });
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    const doc = await page(path);
    if (!doc) { broken.push({from: '(crawl)', to: path, why: 'page not found'}); continue; }
    const base = origin + path;
    for (const el of doc.querySelectorAll('a[href], link[href], img[src], script[src]')) {
      const raw = el.getAttribute('href') ?? el.getAttribute('src');
      if (raw.startsWith('mailto:') || raw.startsWith('javascript:') || raw.startsWith('data:')) continue;
      const url = new URL(raw, base);
      if (url.origin !== origin) continue;
      const target = norm(url.href);
      links += 1;
      if (el.tagName === 'IMG') {
        images += 1;
        if (!(await decodes(url.href))) broken.push({from: path, to: raw, why: 'image does not load'});
        continue;
      }
      if (!(await ok(target))) { broken.push({from: path, to: raw, why: 'not found'}); continue; }
      if (el.tagName === 'A' && target.endsWith('.html')) {
        if (!seen.has(target)) queue.push(target);
        if (url.hash.length > 1) {
          const d = await page(target);
          if (!d || !d.getElementById(decodeURIComponent(url.hash.slice(1))))
            broken.push({from: path, to: raw, why: 'no such anchor'});
        }
      }
    }
  }
  const pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify({pages: [...seen], links, images, broken});
  document.body.appendChild(pre);
})();
</script></body></html>"""


def _run_chromium(args: list[str], profile: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}"]
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_every_internal_link_resolves_in_chromium(site, server, tmp_path):
    if _chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get)")
    (site / "_crawl.html").write_text(CRAWLER)
    proc = _run_chromium(["--virtual-time-budget=120000", "--dump-dom", f"{server}/_crawl.html"], tmp_path / "profile")
    m = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"the crawler did not finish; chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    got = json.loads(html.unescape(m.group(1)))
    built = {"/" + p.relative_to(site).as_posix() for p in site.rglob("*.html")} - {"/_crawl.html", "/404.html"}
    assert set(got["pages"]) >= built, f"pages no link reaches: {sorted(built - set(got['pages']))}"
    assert got["broken"] == [], f"{len(got['broken'])} broken links: {got['broken'][:20]}"
    # the two figures (home page, tutorial) decoded, and the nav's links were followed on every page
    assert got["images"] >= 2 and got["links"] > 20 * len(built)
    print(f"{len(got['pages'])} pages, {got['links']} internal links, {got['images']} images, 0 broken")


@pytest.mark.slow
def test_tutorial_renders_with_its_figure(site, server, tmp_path):
    if _chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get)")
    shot = tmp_path / "tutorial.png"
    proc = _run_chromium(["--window-size=1280,4200", "--hide-scrollbars", "--virtual-time-budget=20000",
                          f"--screenshot={shot}", f"{server}/tutorial.html"], tmp_path / "profile")
    assert shot.is_file(), f"no screenshot; chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    from PIL import Image

    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        assert rgb.size == (1280, 4200)
        # the figure's two dark red cells (the counterexamples) are on the page: matplotlib's Reds at 1
        import numpy as np

        px = np.asarray(rgb).astype(int)
        red = int(((px[..., 0] > 90) & (px[..., 1] < 30) & (px[..., 2] < 40)).sum())
    assert red > 2000, f"the tutorial's figure is not visible ({red} dark red pixels)"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copy(shot, SCREENSHOT)
