"""Model inference on ONNX Runtime: providers (TensorRT, CUDA, CPU) and YOLO models exported by ultralytics.

Nothing here imports onnxruntime until a model is loaded.
"""
