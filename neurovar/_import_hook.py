"""``import neurovar`` finds the installed package even beside a folder named ``neurovar/``.

The cause. ``python -c``, ``python -m``, the REPL and notebooks put the working
directory first on ``sys.path``. From the folder that holds a clone (``cd ..``
after ``git clone ... neurovar``), the clone's folder has no ``__init__.py``, so
Python's path finder sees it as a portion of a namespace package. A regular
package found later on ``sys.path`` still wins over such a portion (PEP 420),
which is why a normal install works. An editable install from setuptools is not
on ``sys.path``: it is a finder that setuptools *appends* to ``sys.meta_path``,
after the path finder, which has already settled for the empty namespace
package (``AttributeError: module 'neurovar' has no attribute 'models'``;
pypa/setuptools#3557).

The fix. :class:`NamespaceLast` sits just before the path finder and steps in
only when the path finder would return a namespace package for ``neurovar``: it
then asks the finders after the path finder (the editable install's) first. A
regular ``neurovar`` package on ``sys.path`` (a normal install, ``PYTHONPATH``
pointing at a checkout) keeps its precedence. The editable wheel carries this
file as the top-level module ``_neurovar_import_hook`` and a ``.pth`` file that
calls :func:`install` at start-up (``[tool.setuptools] cmdclass`` in
``pyproject.toml`` names :data:`editable_wheel`, built on first use so that this
module imports nothing but the standard library).

>>> import sys
>>> install(); install()
>>> [f for f in sys.meta_path if f is NamespaceLast] == [NamespaceLast]
True
>>> sys.meta_path.index(NamespaceLast) < sys.meta_path.index(PathFinder)
True
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder

#: the top-level names whose namespace portions must not hide an editable install
NAMES = frozenset({"neurovar"})
#: the module name of this file inside an editable wheel, and its ``.pth`` file
MODULE = "_neurovar_import_hook"


class NamespaceLast:
    """A meta path finder: for :data:`NAMES`, a regular package before a namespace portion."""

    @classmethod
    def find_spec(cls, fullname: str, path=None, target=None):
        if fullname not in NAMES or path is not None:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is not None:
            return None  # nothing, or a regular package: the usual order decides
        after = sys.meta_path[sys.meta_path.index(PathFinder) + 1:] if PathFinder in sys.meta_path else []
        for finder in after:
            find = getattr(finder, "find_spec", None)
            found = find(fullname, path, target) if find is not None else None
            if found is not None and found.loader is not None:
                return found
        return None  # only namespace portions anywhere: the path finder makes the namespace package


def install() -> None:
    """Put :class:`NamespaceLast` just before the path finder (once)."""
    if NamespaceLast in sys.meta_path:
        return
    at = sys.meta_path.index(PathFinder) if PathFinder in sys.meta_path else len(sys.meta_path)
    sys.meta_path.insert(at, NamespaceLast)


def _editable_wheel_command():
    """setuptools' ``editable_wheel`` command, whose wheel also installs this hook."""
    from pathlib import Path

    from setuptools.command.editable_wheel import editable_wheel

    source = Path(__file__).read_bytes()

    class WithHook:
        """An editable strategy (setuptools' finder or ``.pth``) plus this module and its ``.pth``."""

        def __init__(self, strategy):
            self.strategy = strategy

        def __call__(self, wheel, files, mapping):
            self.strategy(wheel, files, mapping)
            wheel.writestr(f"{MODULE}.py", source)
            wheel.writestr(f"{MODULE}.pth", f"import {MODULE}; {MODULE}.install()\n".encode())

        def __enter__(self):
            self.strategy.__enter__()
            return self

        def __exit__(self, *exc):
            return self.strategy.__exit__(*exc)

    class EditableWheel(editable_wheel):
        def _select_strategy(self, *args, **kwargs):
            return WithHook(super()._select_strategy(*args, **kwargs))

    return EditableWheel


def __getattr__(name: str):
    if name == "editable_wheel":  # read by setuptools while it builds an editable wheel
        return _editable_wheel_command()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
