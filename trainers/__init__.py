"""Binaries: thin command-line layers over dcign_tf's testable functions."""
