"""The app with a fake blog on the far side of its HTTP client: the only thing faked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

from festival.app import create_app
from festival.settings import Settings

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeBlog:
    """Answers the app's outbound requests from a table of addresses; 404 for the rest."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[httpx.Request] = []

    def serve(
        self,
        url: str,
        body: str | bytes,
        *,
        content_type: str = "application/atom+xml; charset=utf-8",
        status: int = 200,
    ) -> None:
        content = body.encode() if isinstance(body, str) else body
        self.answers[url] = httpx.Response(
            status, content=content, headers={"Content-Type": content_type}
        )

    def fail(self, url: str, answer: Exception | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers[url] = answer

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get(str(request.url))
        if answer is None:
            return httpx.Response(
                404, text="<h1>Not found</h1>", headers={"Content-Type": "text/html"}
            )
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


@pytest.fixture
def blog() -> FakeBlog:
    return FakeBlog()


@pytest.fixture
def app(settings: Settings, blog: FakeBlog) -> Litestar:
    return create_app(settings, http_transport=httpx.MockTransport(blog.handle))


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def streamed(parts: list[bytes], content_type: str = "application/atom+xml") -> Any:
    """A response sent in chunks without a Content-Length, as a streaming server would."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_chunks(parts), headers={"Content-Type": content_type})

    return answer
