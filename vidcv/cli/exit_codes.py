"""Exit statuses shared by every ``vidcv`` command."""

EXIT_OK = 0  #: done
EXIT_ERROR = 1  #: a user error (one line on stderr said what and how to fix it), or a failed run
EXIT_USAGE = 2  #: bad command line (argparse's own status)
EXIT_INTERRUPTED = 130  #: Ctrl-C: outputs were finalised, what was done is kept
