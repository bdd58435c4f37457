"""Library errors in the command line's words: `run_dir=` becomes --run-dir, `overwrite=True` --overwrite.

The library names arguments as Python does (`name`, `name=value`, `name=True`); a command's own flags are known
from its parser, so one translation serves every command and every message.
"""

import re

_NAME = re.compile(r"`(\w+)`|\b(\w+)=True\b|\b(\w+)=(?=\S)")
# Python phrases of library messages that a command-line user would say otherwise
PHRASES = {"experiments.evaluate": "`keras-course evaluate`", "jit_compile=True": "--jit on",
           "jit_compile=False": "--jit off"}


def flags_of(parser):
    """{argparse dest: its first long flag} for `parser`'s options, e.g. {"run_dir": "--run-dir"}."""
    from keras_course import _private
    from keras_course.cli.arguments import TRANSFER_PREFIX

    return {action.dest.removeprefix(TRANSFER_PREFIX):
            next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
            for action in _private.option_actions(parser)}


def in_flag_words(message, flags, extra=None):
    """`message` with the Python names of `flags` (dest -> flag) written as flags; `extra` adds names."""
    flags = {**flags, **(extra or {})}

    def replace(match):
        quoted, true_flag, assigned = match.groups()
        name = quoted or true_flag or assigned
        if name not in flags:
            return match.group(0)
        if assigned:
            return flags[name] + " "
        return flags[name]

    for python, words in PHRASES.items():  # first: a phrase may hold a name=value the flags would rewrite
        message = message.replace(python, words)
    return _NAME.sub(replace, message)
