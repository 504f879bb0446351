"""``neurovar server start | status | stop``: a Prefect server kept running for later runs."""

from __future__ import annotations

import typer

from .cli import app, console, fail

server_app = typer.Typer(help="A local Prefect server that later runs reuse (instead of a temporary one each).",
                         no_args_is_help=True)
app.add_typer(server_app, name="server")


@server_app.command("start")
def server_start(port: int = typer.Option(4200, "--port", help="port on 127.0.0.1")) -> None:
    """Start `prefect server start` in the background; `neurovar run` then uses it."""
    from . import server

    if not 0 < port < 65536:
        fail(f"--port: must be between 1 and 65535, got {port}")
    try:
        st = server.start(port)
    except RuntimeError as e:
        fail(str(e), code=1)
    word = "already running" if st.get("already") else "started"
    console.print(f"Prefect server {word} on {st['url']} (pid {st['pid']}); `neurovar run` uses it. "
                  f"Elsewhere: export PREFECT_API_URL={st['url']}. Stop: neurovar server stop", highlight=False,
                  soft_wrap=True)


@server_app.command("status")
def server_status() -> None:
    """Say whether the server of `neurovar server start` is running."""
    from . import server

    url = server.running_server_url()
    if url is None:
        console.print("no server from `neurovar server start` is running", highlight=False)
        raise SystemExit(1)
    console.print(f"Prefect server on {url} (pid {server.read_state()['pid']})", highlight=False)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the server of `neurovar server start`."""
    from . import server

    st = server.stop()
    console.print("stopped " + st["url"] if st else "no server from `neurovar server start` was recorded", highlight=False)
