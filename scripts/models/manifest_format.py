"""The manifest format build_models.py writes and check_models.py accepts: here, so the check runs on
the system's Python without the converter environment (numpy, onnx...)."""

MANIFEST_FORMAT = 3
