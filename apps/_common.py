"""What every lab's command line shares: --quick for smoke tests, --out for the plots."""

import argparse


def parse_lab_args(doc, argv=None, extra=()):
    """Parse a lab's arguments; `extra` is a list of (flags, add_argument keyword arguments) of its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    parser.add_argument("--out", default="runs/labs", help="folder for the plots")
    for flags, options in extra:
        parser.add_argument(*flags, **options)
    return parser.parse_args(argv)
