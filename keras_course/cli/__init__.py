"""The `keras-course` command line; nothing in the library imports it."""
