"""``calendar_sync``: copy a schedule job's events into a user's connected calendar
(``renderhouse.calendars``). A platform duty, not a plugin: it unseals the connection's
credentials from the store, then calls the schedule generator's sync clients
(``caldav_sync``, ``google_sync``), which touch only events we created and skip unchanged
ones, so a retried or repeated sync changes nothing.

Failures are sorted as the queue needs them: the calendar being down (connection refused,
5xx, Google's rate limits past its own backoff) fails the attempt *retryably*, and the
queue backs off (``calendar_sync_max_attempts``); refused credentials, a deleted connection
or a failed extraction are final. The extraction's result is only read, never changed."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, Field

from renderhouse.calendars import connections, targets
from renderhouse.calendars.sync_requests import EXTRACTION_KIND, KIND
from renderhouse.errors import JobFailed, NotFound
from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.outcomes import Snooze
from renderhouse.queue.jobs import QUEUED, RUNNING, SUCCEEDED

if TYPE_CHECKING:
    from renderhouse.generators.schedule.caldav_sync import SyncReport
    from renderhouse.generators.schedule.events import Event
    from renderhouse.runtime import Runtime

WAIT_SECONDS = 2.0
"""How long a sync asked for before its extraction ended waits before looking again."""


class CalendarDown(JobFailed):
    """The calendar could not be reached or answered with a server error: retried."""

    code = "calendar_unavailable"


class CalendarRefused(JobFailed):
    """The calendar refused us for good (credentials, a missing calendar): not retried."""

    code = "calendar_refused"
    caller_fault = True


class ExtractionFailed(JobFailed):
    code = "extraction_failed"
    caller_fault = True


class CalendarSyncInput(BaseModel):
    connection: str = Field(pattern=connections.CONNECTION_ID)
    job: str = Field(min_length=1, max_length=64)
    owner: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=512)


class CalendarSyncGenerator(Generator):
    kind = KIND
    internal = True
    Input = CalendarSyncInput
    default_timeout = 300.0
    resources = Resources(cpu=0.0, memory_mb=64, isolated=False)
    description = "Copies a schedule job's events into a connected calendar (CalDAV, Google)."
    runtime: Runtime | None = None
    """Set by ``install``: the store holding connections and jobs, and the secret key."""

    async def run(self, ctx: Context, input: CalendarSyncInput) -> Any:  # type: ignore[override]
        rt = self.runtime
        if rt is None:
            raise JobFailed("the calendar sync duty was not installed on this worker")
        try:
            extraction = await asyncio.to_thread(rt.queue.get, input.job, input.owner)
        except NotFound:
            raise ExtractionFailed(f"the schedule job {input.job} is gone") from None
        if extraction.kind != EXTRACTION_KIND:
            raise ExtractionFailed(f"job {input.job} is not a schedule job")
        if extraction.state in (QUEUED, RUNNING):
            ctx.progress(0, 1, "waiting for the extraction to end")
            return Snooze(WAIT_SECONDS)
        if extraction.state != SUCCEEDED or not extraction.result:
            raise ExtractionFailed(
                f"the schedule job {input.job} ended {extraction.state} "
                f"({extraction.error_code or 'no result'}); nothing to sync"
            )
        from renderhouse.generators.schedule.events import from_dict

        events = [from_dict(e) for e in extraction.result.get("events", [])]
        default_zone = extraction.result.get("timezone") or "UTC"
        with rt.store.read() as conn:
            creds = connections.credentials(
                conn, rt.settings.secret_key, input.owner, input.connection
            )
        ctx.progress(0, 1, f"syncing {len(events)} events to {creds.connection.name}")
        if creds.connection.kind == "caldav":
            report = await asyncio.to_thread(self._caldav, creds, events, input.source)
        else:
            report = await asyncio.to_thread(
                self._google, rt, creds, events, input.source, default_zone
            )
        ctx.progress(1, 1, "synced")
        return {
            "calendar": input.connection, "job": input.job, "source": input.source,
            "events": len(events), **report.as_dict(),
        }  # fmt: skip

    def _caldav(
        self, creds: connections.Credentials, events: list[Event], source: str
    ) -> SyncReport:
        import caldav.lib.error as dav_error

        from renderhouse.generators.schedule.caldav_sync import open_calendar, sync

        c = creds.connection
        assert self.runtime is not None and c.url is not None
        try:
            targets.check_before_sync(c.url, self.runtime.settings.calendar_allow_private)
            calendar = open_calendar(c.url, c.username or "", creds.secret, c.calendar)
            return sync(calendar, events, source)
        except dav_error.AuthorizationError as exc:
            raise CalendarRefused(
                f"the CalDAV server refused the credentials of {c.name!r}; delete the "
                "connection and add it again with the right password",
                details={"calendar": c.id},
            ) from exc
        except (dav_error.DAVError, OSError) as exc:
            raise CalendarDown(
                f"the CalDAV server of {c.name!r} is unavailable ({type(exc).__name__}: "
                f"{str(exc)[:200]}); the sync is retried with backoff",
                details={"calendar": c.id},
            ) from exc

    def _google(
        self, rt: Runtime, creds: connections.Credentials, events: list[Event], source: str,
        default_zone: str,
    ) -> SyncReport:  # fmt: skip
        from renderhouse.generators.schedule import google_sync
        from renderhouse.generators.schedule.google_calendar import (
            GoogleCalendar,
            GoogleError,
            Token,
        )

        s, c = rt.settings, creds.connection
        if not s.google_client_id or s.google_client_secret is None:
            raise CalendarRefused("Google Calendar is not configured on this server")

        def rotated(token: Token) -> None:
            if token.refresh_token != creds.secret:
                with rt.store.begin() as conn:
                    connections.replace_secret(conn, s.secret_key, c.id, token.refresh_token)

        client = GoogleCalendar(
            s.google_client_id, s.google_client_secret.get_secret_value(),
            Token("", creds.secret, expires_at=1.0), api=s.google_calendar_api_url,
            token_url=s.google_token_url, on_token=rotated,
        )  # fmt: skip
        try:
            with client:
                return google_sync.sync(client, c.calendar, events, source, default_zone)
        except GoogleError as exc:
            status = int(exc.details.get("status", 0) or 0)
            # a revoked token, a missing calendar; 409 is a concurrent sync's insert: re-run
            if 400 <= status < 500 and status not in (409, 429):
                raise CalendarRefused(exc.message, details=exc.details) from exc
            raise CalendarDown(exc.message, details=exc.details) from exc
        except httpx.HTTPError as exc:
            raise CalendarDown(
                f"Google Calendar is unreachable ({type(exc).__name__}); retried with backoff"
            ) from exc


def install(rt: Runtime) -> None:
    """Give this process's duty the runtime (store, queue, settings) it reads from."""
    if KIND in rt.registry.kinds():
        duty: Any = rt.registry.get(KIND)
        duty.runtime = rt
