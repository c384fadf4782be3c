"""lamina's executor."""

__version__ = "0.1.0"
