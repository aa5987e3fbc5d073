"""The ``vidcv`` command line."""
