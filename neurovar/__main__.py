"""``python -m neurovar``: the same CLI as the ``neurovar`` command."""

from neurovar.flows.cli import main

if __name__ == "__main__":
    main()
