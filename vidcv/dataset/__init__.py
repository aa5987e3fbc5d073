"""Turning a source and a detecting pipeline into a training dataset (ultralytics' YOLO layout)."""
