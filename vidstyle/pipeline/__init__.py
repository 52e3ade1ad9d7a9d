"""Frames from decode to encode: style recipes and frame filters, segment plans, the single-process and Ray
drivers, batches, previews."""
