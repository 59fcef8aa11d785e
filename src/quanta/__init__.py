"""Quanta: a self-serve data mesh platform."""

__version__ = "0.1.0"
