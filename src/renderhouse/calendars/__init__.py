"""Calendar connections: a user's CalDAV account or Google Calendar authorisation, kept
owner-scoped with its secret sealed at rest, and the sync jobs that copy a schedule job's
events into it (``duties/calendar_sync.py`` runs them; docs/schedule.md, Sync)."""
