"""Every public function of the library's packages is annotated, and every annotation names something real.

The annotations are postponed (`from __future__ import annotations`) and the names only a type checker needs are
imported under `if TYPE_CHECKING:`, so resolving them here runs those imports first, as a type checker would.
"""

import ast
import importlib
import inspect
import sys
import typing

import pytest

PACKAGES = ["models", "data", "training", "transfer", "compress", "export", "experiments", "viz", "scratch", "labs", "ssl"]


def _public_functions():
    for package in PACKAGES:
        module = importlib.import_module(f"keras_course.{package}")
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value):
                yield f"{package}.{name}", value
            elif inspect.isclass(value) and value.__module__.startswith("keras_course"):
                for key, method in vars(value).items():
                    if inspect.isfunction(method) and (not key.startswith("_") or key == "__init__"):
                        yield f"{package}.{name}.{key}", method


FUNCTIONS = dict(_public_functions())


def _type_checking_namespace(function):
    """The function's module globals plus what its `if TYPE_CHECKING:` block imports."""
    module = sys.modules[inspect.unwrap(function).__module__]
    namespace = dict(vars(module))
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            exec(compile(ast.Module(node.body, type_ignores=[]), module.__file__, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_public_function_is_annotated_with_names_that_resolve(name):
    function = inspect.unwrap(FUNCTIONS[name])
    signature = inspect.signature(function)
    unannotated = [p.name for p in signature.parameters.values()
                   if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                   and p.annotation is inspect.Parameter.empty]
    assert not unannotated, f"{name}: no annotation on {unannotated}"
    if function.__name__ != "__init__":
        assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"
    typing.get_type_hints(function, globalns=_type_checking_namespace(function))  # NameError on a misspelt name


def test_the_check_covers_the_packages_public_api():
    assert len(FUNCTIONS) > 150 and "models.build" in FUNCTIONS and "training.fit_phases" in FUNCTIONS
