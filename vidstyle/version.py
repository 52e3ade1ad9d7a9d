"""The package version, apart from `vidstyle/__init__.py` so modules can read it without importing the API."""

__version__ = "0.1.0"
