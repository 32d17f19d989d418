"""The API fixtures (a real store, the ASGI app in-process, users with keys and credits)."""

from tests.api.conftest import alice, anyio_backend, app, runtime, settings, users  # noqa: F401
from tests.image_providers.fake_server import script, server  # noqa: F401
