#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine with Python 3:
#   ./run.sh demo          train the default classifier on Fashion-MNIST and save it under saved_models/
#   ./run.sh test [ARGS]   run the test suite in parallel (with ARGS: pytest ARGS, e.g. -m slow, one process)
# Each creates or reuses the virtual environment (.venv, or $KERAS_COURSE_VENV) and installs the package into it.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${KERAS_COURSE_VENV:-.venv}"

as_root_with_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

install_system_packages() {
  # Fashion-MNIST as Debian ships it, so the demo and tests work offline; elsewhere keras downloads it.
  local wanted=()
  dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || wanted+=(dataset-fashion-mnist)
  python3 -c 'import ensurepip' >/dev/null 2>&1 || wanted+=(python3-venv)
  if [ ${#wanted[@]} -gt 0 ]; then
    if as_root_with_apt; then
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null \
        || echo "run.sh: could not install ${wanted[*]} with apt-get; Fashion-MNIST will come from keras's download" >&2
    else
      echo "run.sh: not root or no apt-get: skipping ${wanted[*]} (Fashion-MNIST will come from keras's download)" >&2
    fi
  fi
}

install_python_packages() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # Reinstall only when the dependency list changed: a second run starts at once.
  local stamp="$VENV/.keras_course_setup" digest
  digest=$(sha256sum setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ] || ! "$VENV/bin/python" -c 'import keras_course' >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
    "$VENV/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v "is ignored" >&2 || true
    "$VENV/bin/python" -c 'import keras_course, tensorflow, keras, tensorboard' || { echo "run.sh: installation failed" >&2; exit 1; }
    echo "$digest" > "$stamp"
  fi
}

job="${1:-}"
case "$job" in
  demo|test) shift ;;
  *) echo "usage: ./run.sh demo | ./run.sh test [pytest arguments]" >&2; exit 2 ;;
esac
install_system_packages
install_python_packages
if [ "$job" = demo ]; then
  exec "$VENV/bin/keras-course" demo "$@"
elif [ $# -gt 0 ]; then
  exec "$VENV/bin/python" -m pytest "$@"
else
  # The default suite: one worker per core (at most 4). The checks on measured speed (marked timing) are the slow
  # suite's, which runs in one process: nothing competes with what they time.
  workers=$(nproc 2>/dev/null || echo 2)
  [ "$workers" -gt 4 ] && workers=4
  # worksteal: an idle worker takes queued tests from a busy one, so a few long tests do not leave a core idle
  exec "$VENV/bin/python" -m pytest -n "$workers" --dist worksteal -m "not slow"
fi
