"""Make this process's imports look like another machine's: a module the guard refuses is not found, as where it is
not installed (importlib.util.find_spec returns None, import raises ModuleNotFoundError). Putting None in
sys.modules instead would break keras, which probes for TensorFlow with find_spec.

Used by the subprocess workers before they import anything else:
    import import_guard; import_guard.hide("tensorflow", ...)       # everything but these
    import import_guard; import_guard.allow_only({"numpy", ...})     # the standard library and these only
"""

import importlib.machinery
import sys


class _GuardedPathFinder:
    """sys.meta_path's PathFinder, except for the top-level packages `refused(name)` is true of."""

    def __init__(self, refused):
        self.refused = refused

    def find_spec(self, name, path=None, target=None):
        if self.refused(name.split(".")[0]):
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)

    def __getattr__(self, name):
        return getattr(importlib.machinery.PathFinder, name)


def _install(refused):
    sys.meta_path[:] = [_GuardedPathFinder(refused) if finder is importlib.machinery.PathFinder else finder
                        for finder in sys.meta_path]


def hide(*packages):
    _install(lambda top: top in packages)


def allow_only(packages):
    allowed = set(packages) | set(sys.stdlib_module_names)
    # "_"-prefixed top-level modules are the interpreter's own (_sysconfigdata_*, _distutils_hack, ...)
    _install(lambda top: top not in allowed and not top.startswith("_"))
