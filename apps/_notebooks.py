"""Every lab as a Jupyter notebook, generated from its script (the one source of truth).

Lessons (`keras_course.labs`' format, the labs being moved to it one by one): the script is jupytext's percent
format, its notebook is jupytext's reading of it, committed *executed* by papermill, with the figures inline
(EXECUTE_QUICK lists the labs whose full run is too long to commit: those run with QUICK = True). A notebook is
up to date when its cells' types, sources and tags equal the script's (outputs and papermill's injected
parameters aside).

Older labs: a docstring, settings and helpers, and a `main(argv)` whose steps start with `## ` comments. Their
notebook is the docstring as the title, the settings as one cell, an `argv` cell (tagged "parameters": set it to
["--quick"] for a fast run), then one markdown heading and one code cell per step of `main`. The final
`return VALUE` becomes `VALUE` (shown as the cell's output); an early `return` (a lab that cannot run here, e.g.
without its data) stops the notebook with the message it printed. Committed without outputs.

Run: python apps/_notebooks.py          # rewrites the stale apps/notebooks/*.ipynb, executing the lessons
     python apps/_notebooks.py --all    # rewrites and re-executes every one
     python apps/_notebooks.py --check  # exit 1 if a notebook is out of date
"""

import argparse
import ast
import glob
import os
import sys
import tempfile
import textwrap
import time

import nbformat

APPS = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(APPS, "notebooks")
PATH_CELL = ('import os, sys\n'
             'sys.path.insert(0, os.path.abspath(".."))  # apps/: the labs\' shared helpers (_common)')


EXECUTE_QUICK = set()  # lessons whose full run would take more than about 3 minutes to commit


def lab_scripts():
    return sorted(p for p in glob.glob(os.path.join(APPS, "*.py")) if not os.path.basename(p).startswith("_"))


def is_lesson(script):
    """Whether the script is in the lessons' format (jupytext percent cells) rather than a main(argv)."""
    with open(script) as f:
        return f.readline().startswith("# %%")


def lesson_notebook(script):
    """The unexecuted notebook of a lesson: jupytext's reading of the script, with stable cell ids."""
    import jupytext

    book = jupytext.read(script, fmt="py:percent")
    book.metadata = nbformat.from_dict({"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"},
                                        "language_info": {"name": "python"}})
    stem = os.path.splitext(os.path.basename(script))[0]
    for index, cell in enumerate(book.cells):
        cell.id = f"{stem}-{index}"
    return book


def cell_skeleton(book):
    """What must match between a lesson's script and its committed notebook: each cell's type, source and tags,
    papermill's injected-parameters cell left out."""
    return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ())))
            for cell in book.cells if "injected-parameters" not in cell.metadata.get("tags", ())]


# TensorFlow's C++ start-up lines (CUDA probing, absl), which ignore TF_CPP_MIN_LOG_LEVEL in 2.21: noise to a reader
STARTUP_NOISE = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ", "W0000 ", "E0000 ",
                 "To enable the following instructions:")


def without_startup_noise(book):
    """The notebook with TensorFlow's start-up lines removed from its stderr outputs."""
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output.text = "".join(line for line in output.text.splitlines(keepends=True)
                                      if not line.startswith(STARTUP_NOISE))
                if not output.text.strip():
                    continue
            kept.append(output)
        cell.outputs = kept
    return book


def execute_lesson(script, path, *, quick=None, parameters=None, cwd=None):
    """Execute a lesson's notebook with papermill in a fresh kernel and write it to `path` (figures inline)."""
    import papermill

    quick = os.path.basename(script)[:-3] in EXECUTE_QUICK if quick is None else quick
    parameters = dict(parameters or {}, **({"QUICK": True} if quick else {}))
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "source.ipynb")
        nbformat.write(lesson_notebook(script), source)
        book = papermill.execute_notebook(source, path, parameters=parameters, cwd=cwd or scratch,
                                          kernel_name="python3", progress_bar=False)
    nbformat.write(without_startup_noise(book), path)
    return book


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


def is_current(script):
    """Whether the committed notebook of `script` is what the script generates now."""
    path = notebook_path(script)
    if not os.path.exists(path):
        return False
    if is_lesson(script):
        return cell_skeleton(nbformat.read(path, as_version=4)) == cell_skeleton(lesson_notebook(script))
    with open(path) as f:
        return f.read() == render(script)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every notebook is up to date")
    parser.add_argument("--all", action="store_true", help="rewrite (and re-execute) every notebook, stale or not")
    args = parser.parse_args(argv)
    stale = [script for script in lab_scripts() if args.all or not is_current(script)]
    if args.check:
        if stale:
            names = ", ".join(os.path.relpath(notebook_path(script), APPS) for script in stale)
            print(f"out of date: {names}; run python apps/_notebooks.py", file=sys.stderr)
            return 1
        print(f"checked {len(lab_scripts())} notebooks in {os.path.relpath(OUT)}")
        return 0
    os.makedirs(OUT, exist_ok=True)
    for script in stale:
        start = time.perf_counter()
        if is_lesson(script):
            execute_lesson(script, notebook_path(script))
        else:
            with open(notebook_path(script), "w") as f:
                f.write(render(script))
        print(f"wrote {os.path.relpath(notebook_path(script))} in {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{len(stale)} of {len(lab_scripts())} notebooks rewritten in {os.path.relpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
