"""Generators: plugins that do a job's work, registered under a stable kind string."""
