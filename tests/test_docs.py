"""Every code block of the README and of docs/ runs, against a catalog of real cells.

What runs, page by page and in the page's order, in a folder of its own:

* ```python blocks are executed (one namespace per page);
* ```console blocks: each ``$ neurovar ...`` line runs as a real command (the installed entry
  point) and its output must match the lines shown under it, where ``...`` stands for any text
  (run ids, seconds, ports) and whitespace and line breaks are free (a table may wrap);
* ```yaml blocks titled with a file name (```yaml title="waring.yaml"```) are written to that file,
  so the commands after them can use it; an untitled ```yaml block that names ``computations``
  must load as a grid;
* ```text, ```bash and untagged blocks are shown, not run: long cluster runs, install commands,
  outputs quoted beside the command that makes them.

The folder holds ``grids/`` and a catalog of the quickstart grid under ``results/``; a page
holding the line ``<!-- docs-test: empty folder -->`` starts from an empty folder instead (the
tutorial, which builds its own catalog).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neurovar.catalog import store
from neurovar.pipeline.cells import run_cell
from neurovar.pipeline.grid import load_grid

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```\s*$", re.S | re.M)
RUNNABLE = {"python", "console", "yaml"}
SHOWN = {"text", "bash", ""}


def blocks(path: Path) -> list[tuple[str, str, str]]:
    """(language, info after the language, body) of every fenced block, in order."""
    return [(m.group(1), m.group(2).strip(), m.group(3)) for m in FENCE.finditer(path.read_text())]


def python_blocks(path: Path) -> list[str]:
    return [body for lang, _, body in blocks(path) if lang == "python"]


def console_commands(body: str) -> list[tuple[str, str]]:
    """The ``$ command`` lines of a console block, each with the output shown under it."""
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"a console block starts with output, not a command: {line!r}")
    return [(cmd, "\n".join(lines)) for cmd, lines in out]


def output_pattern(shown: str) -> re.Pattern:
    """The shown output as a pattern: ``...`` is any text, any run of whitespace is any whitespace."""
    parts = []
    for piece in re.split(r"(\.\.\.|\s+)", shown.strip()):
        if piece == "...":
            parts.append(r".*?")
        elif piece and piece.isspace():
            parts.append(r"\s+")
        elif piece:
            parts.append(re.escape(piece))
    return re.compile("".join(parts), re.S)


def matches(shown: str, printed: str) -> bool:
    return output_pattern(shown).fullmatch(printed.strip()) is not None


def strip_comment(cmd: str) -> str:
    """The command without a trailing ``# comment`` (quotes respected)."""
    lex = shlex.shlex(cmd, posix=True, punctuation_chars=False)
    lex.whitespace_split = True
    lex.commenters = "#"
    return shlex.join(list(lex))


def run_command(cmd: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    words = shlex.split(strip_comment(cmd))
    assert words and words[0] == "neurovar", f"a console block runs `neurovar ...` lines only; mark {cmd!r} as text"
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb",
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run_block(commands: list[str], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run a block's commands in order; a block of one-cell `neurovar compute` calls (which read and
    write no catalog) runs them three at a time, as they do not depend on each other."""
    if len(commands) > 1 and all(shlex.split(c)[:2] == ["neurovar", "compute"] for c in commands):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(lambda c: run_command(c, cwd), commands))
    return [run_command(c, cwd) for c in commands]


# ----------------------------------------------------------------------------- the runner's own rules
def test_output_pattern_rules():
    # `...` is any text, whitespace is free, the rest is literal and the whole output must match
    assert matches("grid q: all 90 cells already in results; run ...", "grid q: all 90 cells already\n in results; run 3f2a")
    assert not matches("grid q: all 90 cells", "grid q: all 91 cells")
    assert not matches("dimension 14", "dimension 14\nmore lines nobody showed")
    assert matches("{..., \"dimension\": 14, ...}", '{"a": 1, "dimension": 14, "b": [1, 2]}')
    assert not matches("{..., \"dimension\": 14, ...}", '{"a": 1, "dimension": 15, "b": [1, 2]}')
    assert strip_comment("neurovar check --name x   # a comment") == "neurovar check --name x"
    assert strip_comment("neurovar run g.yaml --where 'a=#1'") == "neurovar run g.yaml --where 'a=#1'"


def test_every_block_is_run_or_shown():
    """No block slips through: each is run (python, console, titled yaml, grid yaml) or shown on purpose."""
    for doc in DOCS:
        for lang, info, body in blocks(doc):
            assert lang in RUNNABLE | SHOWN | {"yaml"}, f"{doc.name}: a ```{lang} block is neither run nor shown"
            if lang == "console":
                for cmd, _ in console_commands(body):
                    assert cmd.startswith("neurovar "), f"{doc.name}: console line {cmd!r} is not a neurovar command"


# ----------------------------------------------------------------------------- the pages
@pytest.fixture(scope="module")
def quickstart_catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("quickstart")
    recs = [run_cell(c) for c in load_grid(REPO / "grids" / "quickstart.yaml").cells()]
    store.write_records(recs, "dimension", root / "results")
    return root / "results"


def page_folder(doc: Path, tmp_path: Path, catalog: Path) -> Path:
    folder = tmp_path / "page"
    folder.mkdir()
    if "<!-- docs-test: empty folder -->" not in doc.read_text():
        shutil.copytree(REPO / "grids", folder / "grids")
        shutil.copytree(catalog, folder / "results")
    return folder


def run_page(doc: Path, folder: Path, monkeypatch) -> dict:
    """Run the page's blocks in order in ``folder``; returns the namespace of its python blocks."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(folder)
    namespace: dict = {}
    for lang, info, body in blocks(doc):
        title = re.search(r'title="([^"]+)"', info)
        if lang == "python":
            exec(compile(body, f"{doc.name}", "exec"), namespace)  # the project's own documentation
        elif lang == "yaml" and title:
            (folder / title.group(1)).write_text(body)  # the commands after it use it (bad.yaml too)
        elif lang == "yaml" and re.search(r"^computations:", body, re.M):
            (folder / "_block.yaml").write_text(body)
            load_grid(folder / "_block.yaml")  # a grid shown on a page is a valid grid
        elif lang == "console":
            commands = console_commands(body)
            for (cmd, shown), proc in zip(commands, run_block([c for c, _ in commands], folder)):
                printed = proc.stdout + proc.stderr
                failing = shown.lstrip().startswith(("error:", "^C"))
                assert (proc.returncode != 0) == failing, \
                    f"{doc.name}: `{cmd}` exited {proc.returncode}:\n{printed[-2000:]}"
                if shown.strip():
                    assert matches(shown, printed), f"{doc.name}: `{cmd}` printed\n{printed[-3000:]}\nnot\n{shown}"
    return namespace


@pytest.fixture
def registry_restored():
    """A page may register statements (the tutorial does); they leave the registry with the page."""
    from neurovar.catalog.conjectures import REGISTRY  # importing it registers the shipped entries

    before = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(before)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_page_examples_run(doc, quickstart_catalog, tmp_path, monkeypatch, registry_restored):
    folder = page_folder(doc, tmp_path, quickstart_catalog)
    namespace = run_page(doc, folder, monkeypatch)
    if doc.name == "README.md":
        assert len(python_blocks(doc)) >= 1
        # the README's example reads the catalog: the quickstart grid has 3 x 5 x 2 x 3 = 90 cells,
        # and the one defective (3, k, 1) network with x^4 is Alexander-Hirschowitz's k = 5
        assert len(namespace["df"]) == 90
        defective = namespace["defective"]
        assert [tuple(w) for w in defective[defective.activation == "x^4"].widths] == [(3, 5, 1)]
    if doc.name == "tutorial.md":
        # the tutorial's own grid ran (20 cells) and its figure is drawn from the same grid
        assert len(store.load("dimension", folder / "results")) == 20
        assert (folder / "report" / "defect_depth2.png").stat().st_size > 0
    if doc.name == "analysis.md":
        # (3, 2, 1): sums of two squares of linear forms in 3 variables are defective at r = 2
        # (dim 5 < 6, AH's quadric case) and fill from r = 3 on, so the threshold is 3
        t = namespace["t"]
        row = t[(t.input_dim == 3) & (t.hidden == 2) & (t.depth == 2)].iloc[0]
        assert row["threshold"] == 3


def test_readme_keeps_the_ci_contract():
    """The README's test command is the one .ci/run runs; its set-up and run commands are today's."""
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci.splitlines()[-1]
    shown = "\n".join(body for lang, _, body in blocks(REPO / "README.md") if lang in ("bash", "console"))
    for cmd in ("pip install -e .", "neurovar run grids/quickstart.yaml", "python -m pytest -q"):
        assert cmd in shown, f"the README no longer shows {cmd!r}"
    assert len(readme.splitlines()) <= 220
    # the picture is committed, and every local link of the README points at a file of the repository
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (REPO / target).exists(), f"README links to a missing {target}"


def test_tutorial_figure_matches_its_grid():
    """docs/img/tutorial-defect.png is drawn from the grid the tutorial shows (docs/gen_figures.py)."""
    sys.path.insert(0, str(REPO / "docs"))
    try:
        import gen_figures
    finally:
        sys.path.pop(0)
    text = gen_figures.page_file(REPO / "docs" / "tutorial.md", "waring.yaml")
    assert "name: waring" in text
    assert (REPO / "docs" / "img" / "tutorial-defect.png").stat().st_size > 10_000
