"""Training styles: a Johnson network per painting (on one process or Ray Train), or a style code for the
arbitrary-style network."""
