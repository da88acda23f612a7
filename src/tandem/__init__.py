"""Tandem: open-source platform for co-managed IT."""

__version__ = "0.1.0"
