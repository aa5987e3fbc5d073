"""Bundled sample media, presets and models (installed as ``vidcv.assets``; data only)."""
