"""Container health checks: ``python deploy/healthcheck.py URL [URL ...]``; exit 0 if every URL answers.

``http(s)://...``  a GET answering 2xx (the Prefect server's /api/health, a Dask
                   dashboard's /health, the Prefect runner's /health);
``tcp://host:port`` a TCP connection is accepted.

Only the standard library: it runs in every role of the image.
"""

import socket
import sys
import urllib.parse
import urllib.request


def check(url: str, timeout: float = 5.0) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        with urllib.request.urlopen(url, timeout=timeout) as r:
            if not 200 <= r.status < 300:
                raise RuntimeError(f"{url}: HTTP {r.status}")
    elif parts.scheme in ("tcp", "tls"):
        socket.create_connection((parts.hostname, parts.port), timeout=timeout).close()
    else:
        raise ValueError(f"{url}: expected http(s):// or tcp://")


if __name__ == "__main__":
    try:
        for u in sys.argv[1:]:
            check(u)
    except Exception as e:  # unhealthy: say why in `docker inspect`
        print(f"unhealthy: {e}", file=sys.stderr)
        sys.exit(1)
