"""``/v1/calendars``: connect a calendar (CalDAV with a URL, username and password; Google
through OAuth 2), list, show and delete connections, and sync a schedule job's events into
one (``POST /v1/calendars/{id}/sync`` enqueues a ``calendar_sync`` job). Owner-scoped:
another user's id answers 404. Secrets are sealed at rest and never returned."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from renderhouse.accounts import User
from renderhouse.api.auth import current_user
from renderhouse.api.errors import BadRequest
from renderhouse.api.schemas import ERRORS, Timestamp
from renderhouse.api.state import ApiState, api_state
from renderhouse.calendars import connections, google_oauth, sync_requests, targets
from renderhouse.calendars.connections import CONNECTION_ID, CalendarConnection

router = APIRouter(tags=["calendars"], responses=ERRORS)
Caller = Annotated[User, Depends(current_user)]
State = Annotated[ApiState, Depends(api_state)]
ConnectionId = Annotated[str, PathParam(pattern=CONNECTION_ID)]


class CalDavCreate(BaseModel):
    kind: Literal["caldav"] = Field(
        description="Only CalDAV is connected here; Google goes through "
        "POST /v1/calendars/google/authorize."
    )
    name: str = Field(min_length=1, max_length=120, description="Your name for it.")
    url: str = Field(min_length=1, max_length=2048, description="The CalDAV server's URL.")
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024, description="Stored encrypted.")
    calendar: str = Field(
        "Renderhouse", min_length=1, max_length=255,
        description="Display name of the calendar to write to (made if missing).",
    )  # fmt: skip


class GoogleAuthorize(BaseModel):
    name: str = Field("Google Calendar", min_length=1, max_length=120)
    calendar: str = Field(
        "primary", min_length=1, max_length=255, description="Google calendar id."
    )


class AuthorizationOut(BaseModel):
    authorization_url: str = Field(description="Send the user here to consent.")
    state: str
    redirect_url: str = Field(description="Where Google sends the user back with a code.")
    expires_at: Timestamp


class CalendarOut(BaseModel):
    id: str
    kind: Literal["caldav", "google"]
    name: str
    calendar: str
    url: str | None
    username: str | None
    created_at: Timestamp
    updated_at: Timestamp


class CalendarPage(BaseModel):
    calendars: list[CalendarOut]


class SyncCreate(BaseModel):
    job: str = Field(min_length=1, max_length=64, description="A schedule job's id.")
    source: str | None = Field(
        None, min_length=1, max_length=512,
        description="What the events are kept under (default: the uploaded file's name); a "
        "later sync with the same source updates and deletes only those events.",
    )  # fmt: skip


class SyncOut(BaseModel):
    id: str = Field(description="The calendar_sync job (GET /v1/jobs/{id}).")
    kind: str
    state: str
    calendar: str
    job: str
    source: str
    max_attempts: int
    created_at: Timestamp


def _out(c: CalendarConnection) -> CalendarOut:
    return CalendarOut(
        id=c.id, kind=c.kind, name=c.name, calendar=c.calendar, url=c.url,  # type: ignore[arg-type]
        username=c.username, created_at=c.created_at, updated_at=c.updated_at,
    )  # fmt: skip


@router.post("/v1/calendars", status_code=201)
def create_calendar(body: CalDavCreate, user: Caller, state: State) -> CalendarOut:
    """Connect a CalDAV calendar. The password is sealed (encrypted) at rest; the first sync
    tells whether the server accepts it."""
    url = targets.check_url(body.url, state.settings.calendar_allow_private)
    with state.runtime.store.begin() as conn:
        made = connections.create(
            conn, state.settings.secret_key, owner=user.id, kind="caldav", name=body.name,
            calendar=body.calendar, secret=body.password, url=url, username=body.username,
        )  # fmt: skip
    return _out(made)


def _redirect_url(state: ApiState, request: Request) -> str:
    return state.settings.google_redirect_url or str(request.url_for("google_callback"))


@router.post("/v1/calendars/google/authorize", responses={503: {}})
def google_authorize(
    request: Request, user: Caller, state: State, body: GoogleAuthorize | None = None
) -> AuthorizationOut:
    """Start connecting a Google Calendar: send the user to ``authorization_url``; Google
    sends them back to ``redirect_url`` with ``code`` and ``state``, which the same user
    passes to ``GET /v1/calendars/google/callback`` (valid for 10 minutes, once)."""
    body = body or GoogleAuthorize.model_validate({})
    redirect = _redirect_url(state, request)
    flow = google_oauth.new_flow(user.id, body.calendar, body.name, redirect)
    url, token = google_oauth.start(state.settings, flow)
    return AuthorizationOut(
        authorization_url=url, state=token, redirect_url=redirect, expires_at=flow.expires_at
    )


@router.get(
    "/v1/calendars/google/callback", name="google_callback", status_code=201,
    responses={503: {}},
)  # fmt: skip
def google_callback(
    user: Caller,
    state: State,
    oauth_state: Annotated[str, Query(alias="state", min_length=1, max_length=4096)],
    code: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> CalendarOut:
    """Finish connecting a Google Calendar: the code is exchanged at Google's token endpoint
    and the refresh token is sealed at rest (never returned)."""
    flow = google_oauth.read_state(state.settings.secret_key, oauth_state, user.id)
    if error is not None or code is None:
        raise BadRequest(
            f"Google did not grant access ({error or 'no code'}); start again to connect",
            code="oauth_denied", details={"provider_error": error or ""},
        )  # fmt: skip
    with state.runtime.store.read() as conn:
        connections.refuse_taken(conn, flow.connection_id)  # a replayed callback: 409
    refresh = google_oauth.exchange(state.settings, code, flow.redirect_url)
    with state.runtime.store.begin() as conn:
        made = connections.create(
            conn, state.settings.secret_key, owner=user.id, kind="google", name=flow.name,
            calendar=flow.calendar, secret=refresh, connection_id=flow.connection_id,
        )  # fmt: skip
    return _out(made)


@router.get("/v1/calendars")
def list_calendars(user: Caller, state: State) -> CalendarPage:
    with state.runtime.store.read() as conn:
        return CalendarPage(calendars=[_out(c) for c in connections.listing(conn, user.id)])


@router.get("/v1/calendars/{calendar_id}")
def get_calendar(calendar_id: ConnectionId, user: Caller, state: State) -> CalendarOut:
    with state.runtime.store.read() as conn:
        return _out(connections.get(conn, user.id, calendar_id))


@router.delete("/v1/calendars/{calendar_id}", status_code=204)
def delete_calendar(calendar_id: ConnectionId, user: Caller, state: State) -> Response:
    """Forget the connection and its secret. Events already synced stay in the calendar;
    sync jobs still queued for it fail with ``calendar_gone``."""
    with state.runtime.store.begin() as conn:
        connections.remove(conn, user.id, calendar_id)
    return Response(status_code=204)


@router.post("/v1/calendars/{calendar_id}/sync", status_code=202, responses={503: {}})
def sync_calendar(
    calendar_id: ConnectionId, body: SyncCreate, user: Caller, state: State
) -> SyncOut:
    """Copy a schedule job's events into this calendar, as a ``calendar_sync`` job of its
    own (it waits for the extraction if that has not ended; retried with backoff while the
    calendar is down). Syncing again changes nothing unless the events changed."""
    job = sync_requests.request_sync(
        state.runtime.queue, owner=user.id, connection_id=calendar_id, job_id=body.job,
        source=body.source, max_attempts=state.settings.calendar_sync_max_attempts,
    )  # fmt: skip
    return SyncOut(
        id=job.id, kind=job.kind, state=str(job.state), calendar=calendar_id, job=body.job,
        source=str(job.input["source"]), max_attempts=job.max_attempts,
        created_at=job.created_at,
    )  # fmt: skip
