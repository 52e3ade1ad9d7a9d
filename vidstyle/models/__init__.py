"""The networks and their files: the Johnson network, the arbitrary-style network, VGG, style files, and
how to run them fast on the device at hand."""
