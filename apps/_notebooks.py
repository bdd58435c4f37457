"""Every lab as a Jupyter notebook, generated from its script (the one source of truth).

A lab (`keras_course.labs`' format) is a script in jupytext's percent format; its notebook is jupytext's reading of
it, committed *executed* by papermill, with the figures inline. EXECUTE_QUICK lists the labs whose full run is too
long to commit: those are executed with QUICK = True, and their text says so and quotes the full run's figures. A
notebook is up to date when its cells' types, sources and tags equal the script's (outputs and papermill's injected
parameters aside).

Run: python apps/_notebooks.py          # rewrites and executes the stale apps/notebooks/*.ipynb
     python apps/_notebooks.py LAB ...  # re-executes these labs' notebooks, stale or not
     python apps/_notebooks.py --all    # rewrites and re-executes every one
     python apps/_notebooks.py --check  # exit 1 if a notebook is out of date
"""

import argparse
import glob
import os
import sys
import tempfile
import time

import nbformat

APPS = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(APPS, "notebooks")


EXECUTE_QUICK = {"transfer_fashion"}  # its full run takes about 8 minutes


def lab_scripts():
    return sorted(p for p in glob.glob(os.path.join(APPS, "*.py")) if not os.path.basename(p).startswith("_"))


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


def cell_key(cell):
    """What identifies a cell between a script and its notebook: its type, source and tags."""
    return cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ()))


def own_cells(book):
    """The notebook's cells that come from its script: papermill's injected-parameters cell left out."""
    return [cell for cell in book.cells if "injected-parameters" not in cell.metadata.get("tags", ())]


def cell_skeleton(book):
    """What must match between a lesson's script and its committed notebook: each of its own cells' key."""
    return [cell_key(cell) for cell in own_cells(book)]


# TensorFlow's C++ start-up lines (CUDA probing, absl), which ignore TF_CPP_MIN_LOG_LEVEL in 2.21, its Python log
# lines (SavedModel assets written, predict functions retraced when a lab predicts with several models), and what
# LiteRT and the TFLite converter print on every call: noise to a reader of a committed notebook
STARTUP_NOISE = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ", "W0000 ", "E0000 ",
                 "To enable the following instructions:", "INFO:tensorflow:", "WARNING:tensorflow:",
                 "INFO: Created TensorFlow Lite XNNPACK delegate", "fully_quantize: ")


def without_startup_noise(book):
    """The notebook with TensorFlow's start-up and log lines removed from its printed outputs."""
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.get("output_type") == "stream":  # TensorFlow's Python log lines reach a kernel's stdout
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


def notebook_path(script):
    return os.path.join(OUT, os.path.splitext(os.path.basename(script))[0] + ".ipynb")


def is_current(script):
    """Whether the committed notebook of `script` is what the script generates now."""
    path = notebook_path(script)
    if not os.path.exists(path):
        return False
    return cell_skeleton(nbformat.read(path, as_version=4)) == cell_skeleton(lesson_notebook(script))


def with_new_prose(script):
    """The committed notebook with the script's prose, when the script changed in its markdown cells only (the same
    cells, code and tags): its outputs still hold, so a prose edit needs no re-run. None otherwise."""
    path = notebook_path(script)
    if not os.path.exists(path):
        return None
    book = nbformat.read(path, as_version=4)
    committed = own_cells(book)
    fresh = lesson_notebook(script).cells
    same_code = len(committed) == len(fresh) and all(
        old.cell_type == new.cell_type and (old.cell_type == "markdown" or cell_key(old) == cell_key(new))
        for old, new in zip(committed, fresh))
    if not same_code:
        return None
    for old, new in zip(committed, fresh):
        old.source = new.source
    return book


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every notebook is up to date")
    parser.add_argument("--all", action="store_true", help="rewrite (and re-execute) every notebook, stale or not")
    parser.add_argument("labs", nargs="*", metavar="LAB", help="re-execute these labs' notebooks (names without .py), "
                        "stale or not")
    args = parser.parse_args(argv)
    known = {os.path.basename(script)[:-3]: script for script in lab_scripts()}
    unknown = sorted(set(args.labs) - set(known))
    if unknown:
        parser.error(f"no such lab: {', '.join(unknown)}; the labs are {', '.join(sorted(known))}")
    forced = set(args.labs) | (set(known) if args.all else set())
    stale = {name: script for name, script in known.items() if name in forced or not is_current(script)}
    if args.check:
        if stale:
            names = ", ".join(os.path.relpath(notebook_path(script), APPS) for script in stale.values())
            print(f"out of date: {names}; run python apps/_notebooks.py", file=sys.stderr)
            return 1
        print(f"checked {len(known)} notebooks in {os.path.relpath(OUT)}")
        return 0
    os.makedirs(OUT, exist_ok=True)
    for name, script in stale.items():
        start = time.perf_counter()
        reworded = None if name in forced else with_new_prose(script)
        if reworded is not None:
            nbformat.write(reworded, notebook_path(script))
            print(f"rewrote the prose of {os.path.relpath(notebook_path(script))} (its code is unchanged: not re-run)")
            continue
        execute_lesson(script, notebook_path(script))
        print(f"wrote {os.path.relpath(notebook_path(script))} in {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{len(stale)} of {len(known)} notebooks rewritten in {os.path.relpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
