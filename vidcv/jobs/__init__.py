"""The jobs layer's shared parts: worker processes on this machine (``processes``) and Ray clusters (``cluster``);
``vidcv.batch`` and ``vidcv.dataset`` run their inputs through them."""
