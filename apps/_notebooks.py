"""Every lab as a Jupyter notebook, generated from its script (the one source of truth).

A lab script is a docstring, settings and helpers, and a `main(argv)` whose steps start with `## ` comments. Its
notebook is the docstring as the title, the settings as one cell, an `argv` cell (tagged "parameters": set it to
["--quick"] for a fast run), then one markdown heading and one code cell per step of `main`. The final
`return VALUE` becomes `VALUE` (shown as the cell's output); an early `return` (a lab that cannot run here, e.g.
without its data) stops the notebook with the message it printed.

Run: python apps/_notebooks.py        # rewrites apps/notebooks/*.ipynb
     python apps/_notebooks.py --check  # exit 1 if a notebook is out of date
"""

import argparse
import ast
import glob
import os
import sys
import textwrap

import nbformat

APPS = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(APPS, "notebooks")
PATH_CELL = ('import os, sys\n'
             'sys.path.insert(0, os.path.abspath(".."))  # apps/: the labs\' shared helpers (_common)')


def lab_scripts():
    return sorted(p for p in glob.glob(os.path.join(APPS, "*.py")) if not os.path.basename(p).startswith("_"))


def _main_function(tree):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return node
    raise ValueError("a lab script needs a main(argv) function")


def _body_lines(source_lines, main):
    """main's body, dedented, with the final `return X` as `X` and early returns as SystemExit."""
    first = main.body[0]
    start = first.lineno - 1
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):  # a docstring
        start = main.body[1].lineno - 1
    lines = textwrap.dedent("".join(source_lines[start:main.end_lineno])).splitlines()
    last = main.body[-1]
    returns = {node.lineno - start - 1 for node in ast.walk(main) if isinstance(node, ast.Return)}
    final = last.lineno - start - 1 if isinstance(last, ast.Return) else None
    for index in sorted(returns):
        stripped = lines[index].lstrip()
        indent = lines[index][:len(lines[index]) - len(stripped)]
        if index == final:
            lines[index] = indent + stripped[len("return"):].lstrip()
        else:
            lines[index] = indent + 'raise SystemExit("stopped: see the message above")'
    return lines


def _sections(lines):
    """[(heading or None, code lines)], split at the `## ` comments of main's own level."""
    sections, heading, code = [], None, []
    for line in lines:
        if line.startswith("## "):
            if code or heading:
                sections.append((heading, code))
            heading, code = line[3:].strip(), []
        else:
            code.append(line)
    sections.append((heading, code))
    return [(h, "\n".join(c).strip("\n")) for h, c in sections if h or "".join(c).strip()]


def notebook(script):
    """The notebook of one lab script (an nbformat NotebookNode)."""
    with open(script) as f:
        source = f.read()
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    doc = ast.get_docstring(tree) or os.path.basename(script)
    main = _main_function(tree)
    header_end = tree.body[0].end_lineno if ast.get_docstring(tree) else 0
    settings = "".join(lines[header_end:main.lineno - 1 - len(main.decorator_list)]).strip("\n")
    title, _, rest = doc.partition("\n")
    name = os.path.basename(script)
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n{rest.strip()}\n\n*Generated from `apps/{name}` by "
                                           "`python apps/_notebooks.py`; edit the script, not this notebook.*"),
             nbformat.v4.new_code_cell(PATH_CELL + f"\n__doc__ = {title!r}\n\n" + settings)]
    parameters = nbformat.v4.new_code_cell('argv = []  # the command line, e.g. ["--quick"] for a fast run')
    parameters.metadata["tags"] = ["parameters"]
    cells.append(parameters)
    for heading, code in _sections(_body_lines(lines, main)):
        if heading:
            cells.append(nbformat.v4.new_markdown_cell(f"## {heading}"))
        if code.strip():
            cells.append(nbformat.v4.new_code_cell(code))
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for index, cell in enumerate(book.cells):  # stable ids: regenerating an unchanged script changes nothing
        cell.id = f"{os.path.splitext(name)[0]}-{index}"
    return book


def notebook_path(script):
    return os.path.join(OUT, os.path.splitext(os.path.basename(script))[0] + ".ipynb")


def render(script):
    return nbformat.writes(notebook(script)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every notebook is up to date")
    args = parser.parse_args(argv)
    stale = []
    os.makedirs(OUT, exist_ok=True)
    for script in lab_scripts():
        text, path = render(script), notebook_path(script)
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, APPS))
            if not args.check:
                with open(path, "w") as f:
                    f.write(text)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python apps/_notebooks.py", file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(lab_scripts())} notebooks in {os.path.relpath(OUT)}"
          + (f" ({len(stale)} changed)" if stale and not args.check else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
