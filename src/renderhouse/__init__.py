"""Renderhouse: a durable job platform for generative and render workloads."""

__version__ = "0.1.0"
