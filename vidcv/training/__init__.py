"""Training a model on a vidcv dataset: ``vidcv train`` and the window's Dataset > Train. ultralytics runs in a
child process of its own (started by ``vidcv.jobs.processes``); this side reads its progress and never imports
PyTorch or ultralytics, so that the window and the command line stay light."""
