"""Operating Renderhouse: health checks, backups and restores, system metrics, optimisation
and alerts. The API (``api/system.py``) and the CLI (``cli/ops.py``) are thin edges over it."""
