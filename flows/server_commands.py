"""``neurovar server start | status | stop``: a Prefect server kept running for later runs."""

from __future__ import annotations

import typer

from .cli import app, console, err_console, fail

server_app = typer.Typer(help="A local Prefect server that later runs reuse (instead of a temporary one each).",
                         no_args_is_help=True)
app.add_typer(server_app, name="server")


@server_app.command("start")
def server_start(port: int = typer.Option(4200, "--port", help="port to listen on"),
                 host: str = typer.Option("127.0.0.1", "--host",
                                          help="address to listen on (default loopback only; set "
                                               "PREFECT_SERVER_API_AUTH_STRING=user:password for any other)")) -> None:
    """Start `prefect server start` in the background; `neurovar run` then uses it."""
    from . import server

    if not 0 < port < 65536:
        fail(f"--port: must be between 1 and 65535, got {port}")
    if server.open_without_auth(host):
        err_console.print(f"warning: --host {host}: the Prefect API is open beyond this machine with no "
                          f"{server.AUTH_VARIABLE} set; anyone who reaches it can run and change your flows",
                          highlight=False, soft_wrap=True)
    try:
        st = server.start(port, host=host)
    except RuntimeError as e:
        fail(str(e), code=1)
    word = "already running" if st.get("already") else "started"
    where = f" (listening on {st.get('host', '127.0.0.1')}:{st.get('port', port)})" if st.get("host", "127.0.0.1") != "127.0.0.1" else ""
    console.print(f"Prefect server {word} on {st['url']}{where} (pid {st['pid']}); `neurovar run` uses it. "
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
