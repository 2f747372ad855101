"""Outputs for neighbours: Atom and JSON Feed of published interviews, TimelineJS3 JSON,
oEmbed and the embeddable player page. Each handler is one service call."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from festival.caching import PUBLIC_REVALIDATE, conditional
from festival.db.engine import Database
from festival.errors import Gone, NotFound
from festival.settings import Settings
from festival.timeline import feeds, oembed, timelinejs

DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]

#: The player is made to be shown inside other sites' pages (the blog's embeds), so it,
#: and only it, may be framed by any site.
FRAMEABLE = "frame-ancestors *"
_PROBLEM = ResponseSpec(data_container=dict[str, Any], media_type="application/problem+json")
_NOT_MODIFIED = ResponseSpec(data_container=None, description="Not modified")


class InterviewFeeds(Controller):
    """Published interviews for feed readers and timeline widgets."""

    path = "/festivals/{slug:str}"
    tags = ["exports"]

    @get(
        "/interviews.atom",
        summary="Atom feed of published interviews (newest 50), with video enclosures",
        media_type="application/atom+xml",
        responses={304: _NOT_MODIFIED, 404: _PROBLEM},
    )
    async def atom(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slug: FromPath[str]
    ) -> Response[bytes]:
        body = await feeds.atom_feed(db, slug, settings.base_url)
        return conditional(request, body, feeds.ATOM_TYPE)

    @get(
        "/interviews.json",
        summary="JSON Feed 1.1 of published interviews (newest 50), with video attachments",
        media_type=feeds.JSON_FEED_TYPE,
        responses={
            200: ResponseSpec(data_container=feeds.JsonFeed, media_type=feeds.JSON_FEED_TYPE),
            304: _NOT_MODIFIED,
            404: _PROBLEM,
        },
    )
    async def json_feed(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slug: FromPath[str]
    ) -> Response[bytes]:
        body = await feeds.interviews_json(db, slug, settings.base_url)
        return conditional(request, body, feeds.JSON_FEED_TYPE)

    @get(
        "/timeline.timelinejs.json",
        summary="TimelineJS3 JSON of the published timeline, in time order",
        media_type=MediaType.JSON,
        responses={
            200: ResponseSpec(data_container=timelinejs.TLTimeline),
            304: _NOT_MODIFIED,
            404: _PROBLEM,
        },
    )
    async def timelinejs(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slug: FromPath[str]
    ) -> Response[bytes]:
        body = await timelinejs.timelinejs(db, slug, settings.base_url)
        return conditional(request, body, MediaType.JSON)


_oembed_encoder = msgspec.json.Encoder()


class OEmbedController(Controller):
    path = "/oembed"
    tags = ["exports"]

    @get(
        "/",
        summary="oEmbed 1.0 (type video) for a clip page address",
        description=(
            "Only addresses of this site's clip pages (`/clips/{id}`) whose people agreed "
            "to the blog use. Anything else is 404; a format other than json is 501."
        ),
        media_type=MediaType.JSON,
        responses={
            200: ResponseSpec(data_container=oembed.OEmbed),
            304: _NOT_MODIFIED,
            400: _PROBLEM,
            404: _PROBLEM,
            501: _PROBLEM,
        },
    )
    async def oembed(
        self,
        request: AnyRequest,
        db: DB,
        settings: SETTINGS,
        url: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
        maxwidth: FromQuery[str | None] = None,
        maxheight: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        answer = await oembed.oembed(
            db,
            settings.base_url,
            url=url,
            format=format,
            maxwidth=maxwidth,
            maxheight=maxheight,
        )
        return conditional(request, _oembed_encoder.encode(answer), MediaType.JSON)


class PlayerPages(Controller):
    path = "/clips/{clip_id:int}/player"
    include_in_schema = False

    @get("/")
    async def player(self, db: DB, settings: SETTINGS, clip_id: FromPath[int]) -> Response[Any]:
        try:
            player = await oembed.player(db, clip_id, settings.base_url)
        except (Gone, NotFound) as error:
            # Said inside the frame, so a blog's reader sees why the interview is not
            # there rather than the browser's refusal to show a framed error page.
            return Template(
                "public/player.html",
                context={"problem": error, "gone": isinstance(error, Gone)},
                status_code=error.status,
                headers={"Cache-Control": "no-store", "Content-Security-Policy": FRAMEABLE},
            )
        return Template(
            "public/player.html",
            context={"player": player},
            headers={"Cache-Control": PUBLIC_REVALIDATE, "Content-Security-Policy": FRAMEABLE},
        )
