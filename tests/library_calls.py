"""What a lab script (or a benchmark) asks of the library, checked without running it: every name it reaches
through an imported keras_course module exists, and every call to one binds to that function's signature (its
keywords are accepted, its positional arguments fit, nothing required is missing). The default suite checks every
lab and benchmark this way in well under a second; running the long labs and the benchmarks' smoke runs end to end
is the slow suite's."""

import ast
import importlib
import inspect


def _imported(tree):
    """{local name: object} for what the script imports from keras_course."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "keras_course":
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                bound[alias.asname or alias.name] = value
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "keras_course":
                    bound[alias.asname or alias.name.split(".")[0]] = importlib.import_module(
                        alias.name if alias.asname else "keras_course")
    # a name the script assigns itself is not the library's any more: leave it alone
    assigned = {target.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign, ast.For))
                for target in ast.walk(node.targets[0] if isinstance(node, ast.Assign) else node.target)
                if isinstance(target, ast.Name)}
    return {name: value for name, value in bound.items() if name not in assigned}


def _dotted(node, bound):
    """('experiments', 'train') for `experiments.train` when `experiments` is bound; None otherwise."""
    if isinstance(node, ast.Name):
        return (node.id,) if node.id in bound else None
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, bound)
        return None if base is None else (*base, node.attr)
    return None


def check(path):
    """(problems, checked calls) for the script (a lab or a benchmark) at `path`: each problem one line naming the
    script's line."""
    with open(path) as f:
        tree = ast.parse(f.read(), filename=path)
    bound = _imported(tree)
    problems, calls = [], 0
    # an attribute is checked once, as a whole: not again as the callee of its call or inside a longer one
    inner = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    inner |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Attribute, ast.Call)) or id(node) in inner:
            continue
        dotted = _dotted(node.func if isinstance(node, ast.Call) else node, bound)
        if dotted is None:
            continue
        value = bound[dotted[0]]
        for depth, attribute in enumerate(dotted[1:], start=2):
            if not hasattr(value, attribute):
                problems.append(f"line {node.lineno}: {'.'.join(dotted[:depth])} does not exist")
                break
            value = getattr(value, attribute)
        else:
            if not isinstance(node, ast.Call):
                continue
            try:
                signature = inspect.signature(value)
            except (TypeError, ValueError):  # a builtin without one: its existence is what we can check
                continue
            if any(isinstance(a, ast.Starred) for a in node.args):
                continue
            keywords = {k.arg: None for k in node.keywords if k.arg is not None}
            spread = any(k.arg is None for k in node.keywords)  # **options: the rest is known only at run time
            try:
                (signature.bind_partial if spread else signature.bind)(*node.args, **keywords)
            except TypeError as error:
                problems.append(f"line {node.lineno}: {'.'.join(dotted)}(...): {error}")
            calls += 1
    return problems, calls
