"""vidstyle: neural style transfer for video."""

__version__ = "0.1.0"
