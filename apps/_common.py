"""The labs still written as a main(argv) function take their command line from the package (one home)."""

from keras_course.labs import parse_lab_args

__all__ = ["parse_lab_args"]
