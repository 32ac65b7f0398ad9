"""Errors that are the user's to fix.

A ``UserError`` carries a message written for the person at the keyboard (a designer,
a venue technician, an artist): what is wrong, where (file, line, field) and what to do.
The command line prints it without a traceback and exits with status 2.
"""


class UserError(Exception):
    """A mistake in input the user controls (a file, a flag, a missing asset)."""

    exit_code = 2
