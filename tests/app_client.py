"""An HTTP client that drives the app inside the test's own event loop.

Litestar's test client runs the app on a second event loop in another thread. That is
invisible on SQLite, but PostgreSQL connections belong to the loop that opened them, so a
test that also calls the app's own objects (``app.state.jobs.run_until_idle()``) would
use the app's connections from the wrong loop. Here the app's lifespan and every request
run on the test's loop, as they do under a real server.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType

import httpx
from litestar import Litestar


class AppClient(httpx.AsyncClient):
    """``async with AppClient(app) as client``: starts the app, then sends requests to it
    in-process, as the client ``testclient:50000``."""

    def __init__(self, app: Litestar, base_url: str = "http://festival.test") -> None:
        super().__init__(
            transport=httpx.ASGITransport(app=app, client=("testclient", 50000)),
            base_url=base_url,
            follow_redirects=True,
            headers={"user-agent": "testclient"},
        )
        self.app = app
        self._lifespan: AbstractAsyncContextManager[None] | None = None

    async def __aenter__(self) -> AppClient:
        self._lifespan = self.app.lifespan()
        await self._lifespan.__aenter__()
        try:
            await super().__aenter__()
        except BaseException:
            await self._lifespan.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, traceback)
        finally:
            assert self._lifespan is not None
            await self._lifespan.__aexit__(exc_type, exc, traceback)
