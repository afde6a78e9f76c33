"""Export: read published MSI-Net weights and write ONNX variants (needs the export extra)."""

import os

# TensorFlow's C++ INFO/WARNING lines (grappler, CPU feature notes) drown the export's own
# progress; errors still show. setdefault: a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
