"""The built-in plugins, one module per family. Registered through the ``vidcv.plugins`` entry points
like any outside package; imported only when a pipeline uses them."""
