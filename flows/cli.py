"""The ``neurovar`` command line.

``neurovar compute NAME ...`` runs one cell here and prints it; ``neurovar run``
runs a grid through the Prefect flow; ``neurovar catalog`` inspects results.
Every bad input exits with status 2 and a one-line message naming the flag or
the YAML field, before anything is written.

Start-up: ``neurovar compute NAME ...`` (one cell, the call scripts make) builds
only that computation's command on a plain click group; typer (the other
commands), rich (tables, coloured errors) and the other computations are
imported only by the calls that use them. ``app``, ``console`` and
``err_console`` are made on first use (the command modules import them from
here as before).
"""

from __future__ import annotations

import json
import os
import sys
import typing
from contextlib import contextmanager
from typing import Any, Optional

import click

from neurovar.pipeline.errors import SpecError

_HELP = "neurovar: batch experiments on neurovarieties (dimension, fibers, independence, ED degrees)."


def _make_app():
    import typer

    app = typer.Typer(help=_HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    def version(value: bool) -> None:
        if value:
            from neurovar import __version__

            typer.echo(f"neurovar {__version__}")
            raise typer.Exit()

    def root(_version: bool = typer.Option(False, "--version", callback=version, is_eager=True, is_flag=True,
                                           help="print the version and exit")) -> None:
        """neurovar: batch experiments on neurovarieties."""

    app.callback()(root)
    return app


def _make_console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


#: module attributes made on first use: ``from neurovar.flows.cli import app, console, err_console``
_ON_FIRST_USE = {"app": _make_app, "console": _make_console, "err_console": lambda: _make_console(stderr=True)}


def __getattr__(name: str):
    if name in _ON_FIRST_USE:
        value = globals()[name] = _ON_FIRST_USE[name]()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _made(name: str):
    """``app``, ``console`` or ``err_console`` of this module, made on first use."""
    return globals()[name] if name in globals() else __getattr__(name)


def fail(message: str, code: int = 2) -> typing.NoReturn:
    _made("err_console").print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def spec_error_exit(e: SpecError, flag_names: dict[str, str] | None = None) -> typing.NoReturn:
    field = e.field
    if flag_names is not None:
        leaf = field.split(".")[-1].split("[")[0]
        msg = e.message
        if leaf in ("model", "spec", "params") and ":" in msg and msg.split(":")[0].strip() in flag_names:
            leaf, msg = msg.split(":", 1)[0].strip(), msg.split(":", 1)[1].strip()
        field = flag_names.get(leaf, field)
        fail(f"{field}: {msg}")
    fail(str(e))


# --------------------------------------------------------------------------
# neurovar compute NAME: options generated from the model specs and each
# computation's Params, so a new model or computation needs no CLI change.
# --------------------------------------------------------------------------

def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _fields_of(classes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in classes:
        for name, f in cls.model_fields.items():
            if name == "model":
                continue
            out.setdefault(name, f)
    return out


def _parse_value(kind: str, raw: str, flag: str):
    if kind == "list<int>":
        try:
            return [int(x) for x in raw.replace(" ", "").split(",") if x != ""]
        except ValueError:
            fail(f"{flag}: expected comma-separated integers such as 3,5,1, got {raw!r}")
    return raw


def _print_record(rec: dict) -> None:
    """``--json``: the record as one JSON object."""
    from neurovar.pipeline.record import plain

    sys.stdout.write(json.dumps(plain(rec), sort_keys=False) + "\n")


_PROVENANCE_HIDDEN = ("versions", "host", "timestamp", "computation_version", "timeout_s")


def _make_compute_command(comp) -> click.Command:
    from neurovar.pipeline.models import MODELS
    from neurovar.pipeline.record import column_kind

    model_fields = _fields_of(spec for spec, _ in MODELS.values()) if comp.needs_model is not False else {}
    param_fields = dict(comp.params.model_fields)
    flag_names = {n: _flag(n) for n in list(model_fields) + list(param_fields)}
    flag_names.update(model="--model", seed="--seed", timeout_s="--timeout")

    params: list[click.Parameter] = []
    if comp.needs_model is not False:
        choices = list(MODELS) if comp.models is None else list(comp.models)
        params.append(click.Option(["--model"], required=bool(comp.needs_model), help=f"one of: {', '.join(choices)}"))
    for name, f in {**model_fields, **param_fields}.items():
        kind = column_kind(f.annotation)
        desc = f.description or ""
        if kind == "bool":
            params.append(click.Option([f"{_flag(name)}/--no-{name.replace('_', '-')}"], default=None, help=desc))
        elif kind == "int":
            params.append(click.Option([_flag(name)], type=int, default=None, help=desc))
        elif kind == "float":
            params.append(click.Option([_flag(name)], type=float, default=None, help=desc))
        else:
            params.append(click.Option([_flag(name)], type=str, default=None, help=desc or ("comma-separated integers" if kind == "list<int>" else "")))
    renamed = dict(getattr(comp.params, "RENAMED", {}))  # old option names: hidden flags, same meaning
    for old, new in renamed.items():
        kind = column_kind(param_fields[new].annotation)
        params.append(click.Option([_flag(old), old], type={"int": int, "float": float}.get(kind, str), default=None,
                                   hidden=True))
        flag_names[old] = _flag(old)
    params += [
        click.Option(["--seed"], type=int, default=0, show_default=True, help="random seed of the parameter point and data"),
        click.Option(["--timeout"], type=float, default=None, help="seconds before the cell is stopped"),
        click.Option(["--scheduler"], type=str, default=None,
                     help="a running Dask scheduler (tcp://127.0.0.1:8786, or tls:// with Dask's TLS settings): "
                          "a numerical count spreads its rounds over its workers (docs/cluster.md)"),
        click.Option(["--json", "as_json"], is_flag=True, help="print one JSON object"),
        click.Option(["--progress"], is_flag=True,
                     help="print a numerical count's milestones on stderr (solutions found, each trace test)"),
        click.Option(["--verbose", "-v"], is_flag=True, help="also print the whole record: every output and its provenance"),
    ]

    def callback(**kw):
        from neurovar.pipeline.cells import make_cell
        from neurovar.pipeline.runner import run_cells

        as_json, verbose = kw.pop("as_json"), kw.pop("verbose")
        if kw.pop("progress"):
            from neurovar.pipeline.numeric.progress import enable

            enable()
        seed = kw.pop("seed")
        timeout = kw.pop("timeout")
        scheduler = kw.pop("scheduler")
        model = None
        mname = kw.pop("model", None)
        if mname is None:
            for name in model_fields:
                if kw.get(name) is not None and name not in param_fields:
                    fail(f"{_flag(name)}: needs --model")
                if name not in param_fields:
                    kw.pop(name, None)
        if mname is not None:
            spec_cls = MODELS.get(mname, (None,))[0]
            if spec_cls is None:
                fail(f"--model: unknown model {mname!r}; choose one of {', '.join(MODELS)}")
            model = {"model": mname}
            for name in model_fields:
                v = kw.pop(name, None)
                if v is None:
                    continue
                if name not in spec_cls.model_fields:
                    if name in param_fields:
                        kw[name] = v
                        continue
                    fail(f"{_flag(name)}: does not apply to --model {mname}")
                model[name] = _parse_value(column_kind(model_fields[name].annotation), v, _flag(name))
        opts = {old: kw.pop(old) for old in renamed if kw.get(old) is not None}
        for name in param_fields:
            v = kw.pop(name, None)
            if v is not None:
                opts[name] = _parse_value(column_kind(param_fields[name].annotation), v, _flag(name))
        try:
            cell = make_cell(comp.name, model, opts, seed=seed, timeout_s=timeout)
            if scheduler is not None:
                _use_scheduler(scheduler)
        except SpecError as e:
            spec_error_exit(e, flag_names)
        rec = run_cells([cell])[0]
        from neurovar.pipeline.cells import spec_error_of

        if spec_error_of(rec) is not None:  # raised inside the computation: still bad input, exit 2
            spec_error_exit(spec_error_of(rec), flag_names)
        for k in _PROVENANCE_HIDDEN:
            rec.pop(k, None)
        if as_json:
            _print_record(rec)
        else:  # the answer first; the whole record (provenance) only when asked for
            from .output import print_answer, print_record

            print_answer(rec, comp.outputs)
            if verbose:
                print_record(rec)
        if rec["status"] != "ok":
            _made("err_console").print(f"[bold red]{rec['status']}:[/] {(rec.get('error') or '').splitlines()[0] if rec.get('error') else ''}")
            raise SystemExit(1)

    # the whole first line in `neurovar compute --help` (click would cut it at 45 characters)
    return click.Command(comp.name, params=params, callback=callback, help=comp.description,
                         short_help=comp.description.strip().splitlines()[0] if comp.description else None)


def _use_scheduler(addr: str) -> None:
    """``compute --scheduler``: check that a scheduler answers at ``addr``, then let the cell's numerical
    rounds go to its workers (:mod:`neurovar.pipeline.compute.cluster`; a cell in a child process for
    ``--timeout`` inherits the address). Raises :class:`SpecError` on ``--scheduler``."""
    from neurovar.pipeline.compute.cluster import SCHEDULER_ENV

    from .cluster import check_scheduler, scheduler_address, security, warn_if_open

    addr = scheduler_address(addr)
    warn_if_open(addr)
    check_scheduler(addr, timeout=10.0, connection_args=security().get_connection_args("client"))
    os.environ[SCHEDULER_ENV] = addr


def compute_group(only: str | None = None) -> click.Group:
    """The ``compute`` commands; with ``only``, just that computation's (a one-cell call imports no other)."""
    from neurovar.pipeline.compute import computations, get_computation

    group = click.Group("compute", help="Run one computation here and print its record.")
    for comp in ([get_computation(only)] if only else computations().values()):
        group.add_command(_make_compute_command(comp))
    return group


def _register_commands() -> None:
    """Import the modules that add commands to ``app`` (run, catalog, ...)."""
    import importlib

    for mod in ("neurovar.flows.commands", "neurovar.flows.analysis_commands", "neurovar.flows.deploy_commands",
                "neurovar.flows.reproduce", "neurovar.flows.verify", "neurovar.flows.server_commands",
                "neurovar.flows.voronoi_commands", "neurovar.flows.catalog_damage",
                "neurovar.flows.solve_command"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def _one_computation(argv: Optional[list[str]]) -> str | None:
    """``NAME`` when the command line is ``compute NAME ...`` for a known computation, else None."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "compute" or args[1].startswith("-"):
        return None
    try:
        from neurovar.pipeline.compute import get_computation

        with _blas_pool_of_a_cell():
            get_computation(args[1])
    except Exception:  # an unknown name: the full CLI says so, with the list of computations
        return None
    return args[1]


def _cell_blas_threads() -> int:
    """:func:`neurovar.pipeline.numeric.budget.blas_threads`, read without importing that package (numpy)."""
    try:
        return max(1, int(os.environ.get("NEUROVAR_BLAS_THREADS", "1")))
    except ValueError:
        return 1


@contextmanager
def _blas_pool_of_a_cell():
    """Import numpy (with a computation's modules) with the BLAS threads its cell will use.

    OpenBLAS starts a thread per core when numpy is imported, and idle threads spin for a while:
    ~0.06 s of CPU on two cores in every one-cell call, whose cell then runs with
    :func:`_cell_blas_threads` BLAS threads anyway (``run_cell`` limits them). So the pool is
    started with that many (``OPENBLAS_NUM_THREADS``), unless the user set it; the environment is
    restored afterwards, so processes started later (solvers, a cell's child) see the user's.
    """
    key = "OPENBLAS_NUM_THREADS"
    if key in os.environ or "numpy" in sys.modules:
        yield
        return
    os.environ[key] = str(_cell_blas_threads())
    try:
        yield
    finally:
        os.environ.pop(key, None)


class _OneCellRoot(click.Group):
    """The root group of ``neurovar compute NAME ...``: plain click (typer is not imported for one
    command). Its ``main`` ends as typer's does: exit 0 after the command, 130 on Ctrl-C, 1 on a
    closed stdout; click's usage errors and ``Exit`` (``--help``) go up to :func:`main`, as they do
    from typer's group, which leaves click's own exceptions alone."""

    def main(self, args=None, prog_name=None, **_: Any) -> typing.NoReturn:
        import errno

        args = list(sys.argv[1:] if args is None else args)
        try:
            with self.make_context(prog_name or "neurovar", args) as ctx:
                self.invoke(ctx)
        except KeyboardInterrupt:
            raise SystemExit(130) from None
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise
            sys.stdout = click.utils.PacifyFlushWrapper(sys.stdout)
            sys.stderr = click.utils.PacifyFlushWrapper(sys.stderr)
            raise SystemExit(1) from None
        raise SystemExit(0)


def build_cli(argv: Optional[list[str]] = None) -> click.Group:
    """The command tree; ``compute NAME`` (one cell, the main use from scripts) builds only its own command
    on a plain click root, without typer, the other command modules and computations."""
    only = _one_computation(argv)
    if only is None:
        import typer

        _register_commands()
        group = typer.main.get_group(_made("app"))
    else:
        group = _OneCellRoot("neurovar", help=_HELP)
    group.add_command(compute_group(only))
    return group


def _hard_exit(code) -> None:
    """End the process as a normal exit would, less the interpreter's teardown.

    Freeing every object of numpy, python-flint, pydantic and the finished cell one by one, with
    the garbage collections of finalization, costs a one-cell call ~0.08 s of CPU (almost a tenth
    of an ``edd --method numerical`` call) and changes nothing outside the process. So the atexit
    handlers run (weakref finalizers, temporary folders), stdout and stderr are flushed, and the
    process ends with ``os._exit``. Returns without doing anything, so that the caller exits as
    usual, when another thread still runs, ``python -i`` asked for a prompt, or ``code`` is no exit
    status.
    """
    import atexit
    import threading

    if (code is not None and not isinstance(code, int)) or threading.active_count() > 1 or sys.flags.inspect:
        return
    try:
        atexit._run_exitfuncs()  # each handler once: the interpreter's own exit would find none left
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # e.g. a closed pipe: let the interpreter report it as it always has
        return
    os._exit(code or 0)


def main(argv: Optional[list[str]] = None) -> None:
    cli = build_cli(argv)
    try:
        _run_cli(cli, argv)
    except SystemExit as e:
        # a one-cell call that is the process (the console script or ``python -m neurovar``, reading
        # sys.argv) ends without the teardown; a caller of main() gets its SystemExit as always
        if isinstance(cli, _OneCellRoot) and argv is None and getattr(sys.modules.get("__main__"), "main", None) is main:
            _hard_exit(e.code)
        raise


def _run_cli(cli: click.Group, argv: Optional[list[str]]) -> None:
    try:
        cli.main(args=argv, prog_name="neurovar", standalone_mode=True)
    except click.exceptions.Exit as e:  # --help inside a generated command group
        raise SystemExit(e.exit_code) from None
    except click.exceptions.UsageError as e:  # inside a generated group (compute): a message and exit 2
        ctx = e.ctx
        choices = ""
        if isinstance(e, click.exceptions.NoSuchCommand) and ctx is not None and isinstance(ctx.command, click.Group):
            choices = f"; choose one of: {', '.join(ctx.command.list_commands(ctx))}"
        path = ctx.command_path if ctx is not None else "neurovar"
        fail(f"{e.format_message().rstrip('.')}{choices} (see '{path} --help')")
    except SpecError as e:  # pragma: no cover - commands convert their own
        fail(str(e))


if __name__ == "__main__":  # pragma: no cover
    # ``python -m neurovar.flows.cli`` runs this file as ``__main__``; the command modules register
    # on the importable ``neurovar.flows.cli.app``, so run that module's ``main``, not this copy's
    from neurovar.flows.cli import main as _main

    _main()
