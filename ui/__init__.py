"""The PySide6 desktop application (installed as ``vidcv.ui``). It imports vidcv and the plugin
registry; nothing imports it."""
