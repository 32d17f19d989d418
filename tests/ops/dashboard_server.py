"""Stand-in for ``renderhouse serve`` until it runs the HTTP API: the same pieces (API app
with the system routes, metrics middleware and dashboard, a worker with maintenance) in one
process. Prints the admin key as ``KEY rh_…``. Delete once ``serve`` is wired."""

import asyncio
import sys
import threading
from pathlib import Path

import uvicorn

import renderhouse.store.schema_auth  # noqa
from renderhouse import accounts, metrics
from renderhouse.api import create_app, system
from renderhouse.dashboard import mount
from renderhouse.logs import configure_logging
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings


def main():
    data, port = Path(sys.argv[1]), int(sys.argv[2])
    s = Settings(data_dir=data, secret_key="x" * 40)
    configure_logging(s)
    rt = Runtime(s)
    rt.prepare_store(create_if_empty=True)
    with rt.store.begin() as conn:
        admin = accounts.create_user(conn, "root", is_admin=True)
        print("KEY", accounts.create_key(conn, admin, scope="admin"), flush=True)
    metrics.instrument_queue(rt.queue)
    app = create_app(s, rt)
    app.include_router(system.router)
    app.add_middleware(metrics.MetricsMiddleware)
    mount(app)
    w = rt.worker([], 2, maintenance=True)
    threading.Thread(target=lambda: asyncio.run(w.run()), daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)


if __name__ == "__main__":
    main()
