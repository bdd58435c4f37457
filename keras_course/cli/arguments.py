"""Command-line flags derived from `RunConfig`'s fields, and the RunConfig of a command line.

Each RunConfig field becomes `--field-name` with the field's type and help text (`config.setting`); the few
whose command-line form differs are in FORMS, and the transfer settings get flags of their own (TRANSFER_FLAGS).
Defaults are left out of the namespace (argparse.SUPPRESS), so a setting given on the command line can be told
from one that is not, and `--config FILE` settings sit between a command's own defaults and the flags given.
"""

import argparse
import dataclasses
import json
import re

from keras_course.experiments.config import TRANSFER_DEFAULTS, TRANSFER_HELP, RunConfig

TRANSFER_PREFIX = "transfer__"  # argparse dest of a transfer setting


def parse_options(pairs):
    """["width=2", "hidden=[64,32]"] -> {"width": 2, "hidden": [64, 32]} (values JSON, else text)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option must look like KEY=VALUE, e.g. width=2. Received: --option {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def augment_arg(value):
    """A policy name as it is; steps ("flip", "flip,rotate:0.1,blur@0.5") as a list. A lone word that is neither
    stays a policy name, so that its error suggests the closest policy."""
    from keras_course.data.augment import STEPS

    if not any(mark in value for mark in ",:@") and value not in STEPS:
        return value
    return [s for s in value.split(",") if s]


def int_list(flag, example):
    def convert(text):
        try:
            return [int(part) for part in text.split(",")]
        except ValueError:
            raise ValueError(f"{flag} takes comma-separated integers, e.g. {example}. Received: {flag} {text!r}") from None
    return convert


def image_size_arg(text):
    size = int_list("--image-size", "160 or 120,160")(text)
    return size * 2 if len(size) == 1 else size


def none_or_text(text):
    return None if text.lower() == "none" else text


@dataclasses.dataclass(frozen=True)
class Form:
    """How one setting is written on the command line, where that differs from `--field-name VALUE`."""

    flag: str = None
    convert: object = None  # text (or list of texts, with append) -> the setting's value
    choices: tuple = None
    action: str = None  # "store_true" or "append"
    metavar: str = None


FORMS = {
    "jit_compile": Form("--jit", convert={"auto": "auto", "on": True, "off": False}.get, choices=("auto", "on", "off")),
    "deterministic_ops": Form("--deterministic", action="store_true"),
    "model_options": Form("--option", convert=parse_options, action="append", metavar="KEY=VALUE"),
    "augment": Form(convert=augment_arg),
    "classes": Form(convert=int_list("--classes", "0,1,2")),
    "image_size": Form(convert=image_size_arg, metavar="N|H,W"),
}
TRANSFER_FLAGS = {
    "weights": Form("--weights", convert=none_or_text),
    "fine_tune_epochs": Form("--fine-tune-epochs", convert=int),
    "fine_tune_lr": Form("--fine-tune-lr", convert=float),
    "unfreeze_stages": Form("--unfreeze-stages", convert=int),
    "dropout": Form("--head-dropout", convert=float),
    "resize": Form("--resize", convert=int),
}  # the backbone's options come from --option in a transfer run
TYPES = {int: int, float: float, str: str}  # a field's annotation -> argparse type


def flag_of(name):
    """The flag of RunConfig field `name`."""
    form = FORMS.get(name)
    return form.flag if form and form.flag else "--" + name.replace("_", "-")


def add_run_arguments(parser, *, defaults=None, exclude=(), aliases=None):
    """Add a flag for every RunConfig field (and each transfer setting) but those in `exclude`.

    `defaults`: the command's own defaults ({field: value}, transfer settings under "transfer"), shown in the help;
    `aliases`: {field: [extra flags]}, e.g. transfer's --data for --dataset.
    """
    defaults, aliases = defaults or {}, aliases or {}
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="start from the settings in a config.json (a run's, or a search's best_config.json); "
                        "flags given on the command line override them")
    for field in dataclasses.fields(RunConfig):
        if field.name in exclude or field.name == "transfer":
            continue
        form = FORMS.get(field.name, Form())
        flags = [flag_of(field.name), *aliases.get(field.name, ())]
        required = field.default is dataclasses.MISSING and field.name not in defaults
        text = field.metadata["help"] + (" (required unless --config gives it)" if required else "")
        if not required:
            text = _with_default(text, defaults.get(field.name, field.default), field.name in defaults)
        _add(parser, flags, field.name, form, TYPES.get(field.type), text)
    if "transfer" not in exclude:
        transfer_defaults = {**TRANSFER_DEFAULTS, **(defaults.get("transfer") or {})}
        for name, form in TRANSFER_FLAGS.items():
            flags = [form.flag, *aliases.get(f"transfer.{name}", ())]
            text = _with_default(f"transfer run: {TRANSFER_HELP[name]}", transfer_defaults[name], True)
            _add(parser, flags, TRANSFER_PREFIX + name, dataclasses.replace(form, convert=None, metavar=name.upper()),
                 form.convert, text)


def _with_default(text, default, command_default):
    """`text` ending with the default: the command's own replaces one the field's help states."""
    if command_default:
        text = re.sub(r" \(default: [^)]*\)", "", text)
    elif "(default:" in text:
        return text
    if default is None or default == {}:
        return text
    return f"{text} (default: {default})"


def _add(parser, flags, dest, form, value_type, text):
    kwargs = dict(dest=dest, default=argparse.SUPPRESS, help=text)
    if form.action:
        kwargs["action"] = form.action
    else:
        kwargs["type"] = value_type if form.convert is None else str
        if form.choices:
            kwargs["choices"] = form.choices
    if form.metavar:
        kwargs["metavar"] = form.metavar
    parser.add_argument(*flags, **kwargs)


def read_config_file(path):
    """The settings of a config.json (a dict), or a one-line ValueError naming --config."""
    try:
        with open(path) as f:
            settings = json.load(f)
    except OSError as error:
        raise ValueError(f"--config {path!r} cannot be read ({error.strerror}). Give a config.json file, e.g. "
                         "runs/search/best_config.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"--config {path!r} is not valid JSON ({error}).") from None
    if not isinstance(settings, dict):
        raise ValueError(f"--config {path!r} must hold a JSON object of run settings. Received: {type(settings).__name__}")
    return settings


def config_from_args(args, *, defaults=None, transfer=False):
    """The RunConfig of a command line: the command's `defaults`, then --config's settings, then the flags given.

    A transfer setting given (or `transfer=True`, the transfer command) makes it a transfer run, whose --option
    values are the backbone's options.
    """
    given = {}
    for field in dataclasses.fields(RunConfig):
        if hasattr(args, field.name):
            convert = FORMS.get(field.name, Form()).convert
            value = getattr(args, field.name)
            given[field.name] = convert(value) if convert else value
    nested = {name[len(TRANSFER_PREFIX):]: value for name, value in vars(args).items()
              if name.startswith(TRANSFER_PREFIX)}
    settings = dict(defaults or {})
    file_settings = read_config_file(args.config) if getattr(args, "config", None) else {}
    settings.update(file_settings)
    if "model_options" in given and settings.get("model_options"):
        given["model_options"] = {**settings["model_options"], **given["model_options"]}
    settings.update(given)
    if nested or transfer or settings.get("transfer") is not None:
        merged = {**(settings.get("transfer") or {}), **nested}
        if "model_options" in given:  # a transfer run's builder options are the backbone's
            merged["options"] = given["model_options"] or None
            settings["model_options"] = file_settings.get("model_options", {})
        settings["transfer"] = merged
    for name in ("model", "dataset"):
        if name not in settings:
            raise ValueError(f"{flag_of(name)} is required (or --config FILE that sets it), e.g. {flag_of(name)} "
                             f"{'resnet20' if name == 'model' else 'fashion_mnist'}")
    return RunConfig.from_dict(settings)
