"""Stored brand canons: a user's canons kept by the platform, versioned, validated by the
``render`` generator's own canon model, and named in jobs as ``canon:<id>[@<version>]``."""
