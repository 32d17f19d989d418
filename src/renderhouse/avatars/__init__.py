"""The ``pose`` generator's platform side: avatars, avatar projects, presets and users' own
poses as owner-scoped rows (``store/schema_pose.py``), the ``avatar:<id>`` job reference,
library thumbnails and per-avatar usage. The HTTP routers (``api/avatars.py``,
``api/poses.py``) call these functions; all the SQL lives here."""
