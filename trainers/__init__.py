"""Binaries: thin command-line layers over dcign_tf's testable functions."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) buries the
# binaries' own output; users can still ask for it with TF_CPP_MIN_LOG_LEVEL=0.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
