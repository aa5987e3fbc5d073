"""Many inputs through one pipeline: ``vidcv batch`` on this machine (a process pool) or on a Ray cluster.

The pieces, for commands and dialogs that build on them:

- ``inputs.expand_inputs(specs)``: video files, globs, folders, ``@list.txt`` -> the video files, in order;
  ``inputs.plan_outputs(sources, out_dir)``: one output folder per input, mirroring its path.
- ``single.prepare_run`` / ``single.finish_run``: one source's run as ``vidcv run`` does it.
- ``driver.run_batch(sources, pipeline, BatchOptions(...), observer, stop)``: the whole batch, with resume, the
  ledger ``OUT/batch.jsonl`` and events (``vidcv.batch.events``) for a progress display; ``stop`` cancels.

Nothing here imports Ray before ``--engine ray`` asks for it.
"""
