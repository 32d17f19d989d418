"""Tables of calendar connections (``renderhouse.calendars`` owns their SQL): a user's
CalDAV account or Google Calendar authorisation, with its secret (a CalDAV password, a
Google refresh token) sealed by ``calendars.sealing``; plaintext is never stored."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, String, Table, Text

from renderhouse.store.schema import metadata

calendar_connections = Table(
    "calendar_connections",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # caldav | google
    Column("name", String(120), nullable=False),
    Column("calendar", String(255), nullable=False),  # CalDAV display name, Google calendar id
    Column("url", String(2048)),  # CalDAV server (null for Google)
    Column("username", String(255)),
    Column("secret", Text, nullable=False),  # Fernet token, never plaintext
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_calendar_connections_owner", calendar_connections.c.owner, calendar_connections.c.id)
