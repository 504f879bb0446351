import os
import shutil
import subprocess
import sys

import pytest


def neurovar_cmd() -> list[str]:
    exe = shutil.which("neurovar", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return [exe] if exe else [sys.executable, "-m", "neurovar"]


@pytest.fixture
def cli():
    """Run the installed ``neurovar`` command; returns the CompletedProcess."""

    def run(*args, cwd=None, env=None, timeout=600, input=None):
        return subprocess.run(
            neurovar_cmd() + [str(a) for a in args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            input=input,
        )

    return run
