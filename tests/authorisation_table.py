"""The authorisation matrix: every route of the app, and what each identity gets.

A row names the answers of the four kinds of caller that matter most (anonymous,
volunteer A who filmed clip X, volunteer B who did not, staff) and, on private-link
routes, the interviewees of clips X and Y. Everyone else follows from those:

- an interviewee holds nothing but their link, so off the link routes they are anonymous;
- staff with a session cookie but no CSRF token read like staff and are refused writes;
- a revoked staff token and an expired invite are refused everywhere (401), since a bad
  credential is refused rather than quietly read as nobody;
- a volunteer whose links staff withdrew presents a dead token to the API (401) and a dead
  session cookie to pages, where they are anonymous.

Path parameters come from the world (clip X, A's slot and assignment, X's consent...);
``{token}`` is the caller's own link, or a guessed one if they hold none. Requests that
could change something carry a body that would be let through if the caller were allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.authorisation_world import (
    ANONYMOUS,
    CSRF,
    EXPIRED_INVITE,
    FORBIDDEN,
    GONE,
    HIDDEN,
    IDENTITIES,
    INTERVIEWEE_X,
    INTERVIEWEE_Y,
    OK,
    REFUSED,
    REVOKED_STAFF,
    SAFE_METHODS,
    SIGN_IN,
    STAFF,
    STAFF_NO_CSRF,
    VOLUNTEER_A,
    VOLUNTEER_B,
    WITHDRAWN_VOLUNTEER,
    Probe,
)

__all__ = ["GONE", "ROWS", "Row", "expected"]


@dataclass(frozen=True)
class Rule:
    anonymous: str
    a: str
    b: str
    staff: str
    x: str | None = None  # interviewee of X, on their link's routes
    y: str | None = None


PUBLIC = Rule(OK, OK, OK, OK)
STAFF_ONLY = Rule(SIGN_IN, FORBIDDEN, FORBIDDEN, OK)
STAFF_REFUSED_INPUT = Rule(SIGN_IN, FORBIDDEN, FORBIDDEN, REFUSED)
VOLUNTEERS = Rule(SIGN_IN, OK, OK, FORBIDDEN)
SIGNED_IN = Rule(SIGN_IN, OK, OK, OK)  # volunteers and staff: uploading, witnessing
OWNER_OF_X = Rule(SIGN_IN, OK, HIDDEN, OK)  # clip X: A filmed it; B may not know it exists
MEDIA_OF_X = Rule(HIDDEN, OK, HIDDEN, OK)  # X's files: only A and staff know they exist
UNPUBLISHED = Rule(HIDDEN, HIDDEN, HIDDEN, HIDDEN)  # public pages of clip X
OWN_LINK = Rule(HIDDEN, HIDDEN, HIDDEN, HIDDEN, x=OK, y=OK)  # acts on the caller's own consent
LINK_OF_X = Rule(HIDDEN, HIDDEN, HIDDEN, HIDDEN, x=OK, y=HIDDEN)  # clip X through a link


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    rule: Rule
    probe: Probe = field(default_factory=Probe)
    why: str = ""


def expected(row: Row, identity: str) -> str:
    rule = row.rule
    api = row.path.startswith("/api/")
    unsafe = row.method not in SAFE_METHODS
    if identity in (REVOKED_STAFF, EXPIRED_INVITE) or (identity == WITHDRAWN_VOLUNTEER and api):
        return SIGN_IN
    if identity == STAFF_NO_CSRF:
        return CSRF if unsafe else rule.staff
    return {
        ANONYMOUS: rule.anonymous,
        WITHDRAWN_VOLUNTEER: rule.anonymous,
        VOLUNTEER_A: rule.a,
        VOLUNTEER_B: rule.b,
        STAFF: rule.staff,
        INTERVIEWEE_X: rule.x or rule.anonymous,
        INTERVIEWEE_Y: rule.y or rule.anonymous,
    }[identity]


assert set(IDENTITIES) == {
    ANONYMOUS,
    VOLUNTEER_A,
    VOLUNTEER_B,
    INTERVIEWEE_X,
    INTERVIEWEE_Y,
    STAFF,
    STAFF_NO_CSRF,
    REVOKED_STAFF,
    WITHDRAWN_VOLUNTEER,
    EXPIRED_INVITE,
}

TUS = {"Tus-Resumable": "1.0.0"}
CREATE_UPLOAD = Probe(
    headers={
        **TUS,
        "Upload-Length": "1000",
        # filename interview.mp4, filetype video/mp4, festival now-fest (for staff)
        "Upload-Metadata": "filename aW50ZXJ2aWV3Lm1wNA==,filetype dmlkZW8vbXA0,"
        "festival bm93LWZlc3Q=",
    }
)
SEND_BYTES = Probe(
    content=b"x" * 10,
    headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
)
CONSENT: dict[str, Any] = {
    "scopes": ["timeline"],
    "credit": "anonymous",
    "form_version": 1,
    "interviewee_name": "Robin Example",
}
CUES = Probe(json={"corrections": [{"index": 1, "text": "Hello again."}]})
NOTHING = Probe(json={})
P = {"clip_id": "{P}"}  # the published clip, which has links to a session and a post

S = "/staff/festivals/{slug:str}"
F = "/api/v1/festivals/{slug:str}"


def _rows() -> list[Row]:
    rows = [
        Row("GET", "/health", PUBLIC),
        Row("GET", "/api/v1/me", PUBLIC, why="says who is asking; anonymous is an answer"),
        Row("GET", "/staff/sign-in", PUBLIC),
        Row(
            "POST",
            "/staff/sign-in",
            Rule(SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN),
            Probe(form={"email": "{who}@festival.test", "password": "not the password"}),
            why="anyone may try; a wrong password is 401 (no real account, so no lock-out)",
        ),
        Row(
            "POST",
            "/staff/sign-out",
            Rule(SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN),
            why="everyone ends up at the sign-in page; staff are signed out on the way",
        ),
        Row("GET", "/", PUBLIC),
        Row("GET", "/festivals/{slug:str}", PUBLIC),
        Row("GET", "/festivals/{slug:str}/programme", PUBLIC),
        Row("GET", "/festivals/{slug:str}/sessions/{session_id:int}", PUBLIC),
        Row("GET", "/festivals/{slug:str}/programme.json", PUBLIC),
        Row("GET", "/festivals/{slug:str}/programme.xml", PUBLIC),
        Row("GET", "/festivals/{slug:str}/programme.ics", PUBLIC),
        Row("GET", "/festivals/{slug:str}/timeline", PUBLIC),
        Row("GET", "/festivals/{slug:str}/interviews.atom", PUBLIC),
        Row("GET", "/festivals/{slug:str}/interviews.json", PUBLIC),
        Row("GET", "/festivals/{slug:str}/timeline.timelinejs.json", PUBLIC),
        Row("GET", F + "/timeline", PUBLIC),
        Row("GET", "/api/v1/consent-forms/latest", PUBLIC),
        Row("GET", "/static/vendor/tus.min.js", PUBLIC),
        Row("GET", "/static/{file_path:path}", PUBLIC, Probe(params={"file_path": "crew.css"})),
        Row("HEAD", "/static/{file_path:path}", PUBLIC, Probe(params={"file_path": "crew.css"})),
        Row("GET", "/schema", PUBLIC),
        Row("GET", "/schema/openapi.json", PUBLIC),
        Row(
            "GET",
            "/schema/{path:str}",
            UNPUBLISHED,
            Probe(params={"path": "openapi.yaml"}),
            why="the framework's answer for schema files not offered: 404 to all",
        ),
        Row(
            "OPTIONS",
            "/api/v1/uploads",
            PUBLIC,
            why="tus discovery; every other OPTIONS is the framework's own Allow answer",
        ),
        Row(
            "GET",
            "/oembed",
            PUBLIC,
            Probe(params={"?": "url=http://festival.test/clips/{P}&format=json"}),
            why="P is published",
        ),
        Row("GET", "/clips/{clip_id:int}", UNPUBLISHED, why="X is not published"),
        Row("GET", "/clips/{clip_id:int}/transcript", UNPUBLISHED),
        Row("GET", "/clips/{clip_id:int}/player", UNPUBLISHED),
        Row("GET", "/clips/{clip_id:int}", PUBLIC, Probe(params=P), why="P is published"),
        # The programme over the API: anyone reads, staff write.
        Row("GET", "/api/v1/festivals", PUBLIC),
        Row("POST", "/api/v1/festivals", STAFF_REFUSED_INPUT, NOTHING),
        Row("GET", F, PUBLIC),
        Row("PATCH", F, STAFF_ONLY, NOTHING),
        Row("DELETE", F, STAFF_ONLY),
    ]
    for kind, key in (
        ("people", "person_id"),
        ("rooms", "room_id"),
        ("sessions", "session_id"),
        ("venues", "venue_id"),
    ):
        one = f"{F}/{kind}/{{{key}:int}}"
        deleted = STAFF_ONLY if kind in ("people", "sessions") else STAFF_REFUSED_INPUT
        rows += [
            Row("GET", f"{F}/{kind}", PUBLIC),
            Row("POST", f"{F}/{kind}", STAFF_REFUSED_INPUT, NOTHING),
            Row("GET", one, PUBLIC),
            Row("PATCH", one, STAFF_ONLY, NOTHING),
            Row("DELETE", one, deleted, why="a room or venue in use cannot go"),
        ]
    rows += [
        Row("GET", F + "/posts", PUBLIC),
        Row("POST", F + "/posts", STAFF_REFUSED_INPUT, NOTHING),
        Row("POST", F + "/posts/import", STAFF_REFUSED_INPUT, NOTHING),
        Row("GET", F + "/posts/{post_id:int}", PUBLIC),
        Row("PATCH", F + "/posts/{post_id:int}", STAFF_ONLY, NOTHING),
        Row("DELETE", F + "/posts/{post_id:int}", STAFF_ONLY),
    ]
    # The crew over the API: staff only.
    for method, path, rule, probe in (
        ("GET", "/crew-rules", STAFF_ONLY, NOTHING),
        ("PATCH", "/crew-rules", STAFF_ONLY, NOTHING),
        ("GET", "/volunteers", STAFF_ONLY, NOTHING),
        ("POST", "/volunteers", STAFF_REFUSED_INPUT, NOTHING),
        ("GET", "/volunteers/{volunteer_id:int}", STAFF_ONLY, NOTHING),
        ("PATCH", "/volunteers/{volunteer_id:int}", STAFF_ONLY, NOTHING),
        ("POST", "/volunteers/{volunteer_id:int}/training", STAFF_REFUSED_INPUT, NOTHING),
        (
            "DELETE",
            "/volunteers/{volunteer_id:int}/training/{training_id:int}",
            STAFF_ONLY,
            NOTHING,
        ),
        ("POST", "/volunteers/{volunteer_id:int}/revoke", STAFF_ONLY, NOTHING),
        ("GET", "/volunteers/{volunteer_id:int}/availability", STAFF_ONLY, NOTHING),
        ("PUT", "/volunteers/{volunteer_id:int}/availability", STAFF_REFUSED_INPUT, NOTHING),
        ("GET", "/slots", STAFF_ONLY, NOTHING),
        ("POST", "/slots", STAFF_REFUSED_INPUT, NOTHING),
        ("POST", "/slots/bulk", STAFF_ONLY, NOTHING),
        ("GET", "/slots/{slot_id:int}", STAFF_ONLY, NOTHING),
        ("PATCH", "/slots/{slot_id:int}", STAFF_ONLY, NOTHING),
        ("DELETE", "/slots/{slot_id:int}", STAFF_ONLY, NOTHING),
        ("POST", "/slots/{slot_id:int}/assignments", STAFF_REFUSED_INPUT, NOTHING),
        ("DELETE", "/slots/{slot_id:int}/assignments/{volunteer_id:int}", STAFF_ONLY, NOTHING),
        (
            "POST",
            "/slots/{slot_id:int}/assignments/{volunteer_id:int}/no-show",
            STAFF_REFUSED_INPUT,
            NOTHING,
        ),
        ("POST", "/proposals", STAFF_ONLY, NOTHING),
        ("GET", "/proposals/{proposal_id:int}", STAFF_ONLY, NOTHING),
        ("POST", "/proposals/{proposal_id:int}/apply", STAFF_ONLY, NOTHING),
    ):
        rows.append(Row(method, F + path, rule, probe))
    # A volunteer's own API: their profile, availability and slots; B may not act on A's.
    V = "/api/v1/volunteer"
    rows += [
        Row("GET", V + "/me", VOLUNTEERS),
        Row("PATCH", V + "/me", VOLUNTEERS, NOTHING),
        Row("GET", V + "/availability", VOLUNTEERS),
        Row("PUT", V + "/availability", Rule(SIGN_IN, REFUSED, REFUSED, FORBIDDEN), NOTHING),
        Row("PUT", V + "/preferences", Rule(SIGN_IN, REFUSED, REFUSED, FORBIDDEN), NOTHING),
        Row("GET", V + "/day", VOLUNTEERS),
        Row("POST", V + "/calendar-link", VOLUNTEERS),
        Row(
            "POST",
            V + "/assignments/{assignment_id:int}/accept",
            Rule(SIGN_IN, OK, FORBIDDEN, FORBIDDEN),
        ),
        Row(
            "POST",
            V + "/assignments/{assignment_id:int}/decline",
            Rule(SIGN_IN, OK, FORBIDDEN, FORBIDDEN),
            Probe(json={"reason": "I am unwell"}),
        ),
        Row(
            "POST",
            V + "/assignments/{assignment_id:int}/check-in",
            Rule(SIGN_IN, REFUSED, FORBIDDEN, FORBIDDEN),
            why="A may check in only near the slot's start",
        ),
        Row(
            "POST",
            V + "/slots/{slot_id:int}/sign-up",
            Rule(SIGN_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
            why="this festival does not let volunteers sign themselves up",
        ),
        Row(
            "DELETE",
            V + "/slots/{slot_id:int}/sign-up",
            Rule(SIGN_IN, FORBIDDEN, HIDDEN, FORBIDDEN),
            why="A may not leave (no self sign-up here); B holds no place in A's slot",
        ),
        Row(
            "GET",
            "/volunteers/calendar/{token:str}",
            Rule(HIDDEN, OK, OK, HIDDEN),
            why="the caller's own calendar link; everyone else guesses",
        ),
        Row(
            "GET",
            "/volunteers/invite/{token:str}",
            Rule(SIGN_IN, OK, OK, SIGN_IN),
            why="the caller's own invite link; everyone else guesses",
        ),
        # A volunteer's pages.
        Row("GET", "/volunteer", VOLUNTEERS),
        Row("GET", "/volunteer/profile", VOLUNTEERS),
        Row("POST", "/volunteer/profile", VOLUNTEERS),
        Row("GET", "/volunteer/availability", VOLUNTEERS),
        Row("POST", "/volunteer/availability", VOLUNTEERS),
        Row("POST", "/volunteer/calendar-link", VOLUNTEERS),
        Row(
            "POST",
            "/volunteer/assignments/{assignment_id:int}/accept",
            Rule(SIGN_IN, OK, FORBIDDEN, FORBIDDEN),
        ),
        Row(
            "GET",
            "/volunteer/assignments/{assignment_id:int}/decline",
            Rule(SIGN_IN, OK, HIDDEN, FORBIDDEN),
        ),
        Row(
            "POST",
            "/volunteer/assignments/{assignment_id:int}/decline",
            Rule(SIGN_IN, OK, FORBIDDEN, FORBIDDEN),
            Probe(form={"reason": "I am unwell"}),
        ),
        Row(
            "POST",
            "/volunteer/assignments/{assignment_id:int}/check-in",
            Rule(SIGN_IN, REFUSED, FORBIDDEN, FORBIDDEN),
        ),
        Row(
            "POST",
            "/volunteer/slots/{slot_id:int}/sign-up",
            Rule(SIGN_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
        ),
        Row(
            "POST",
            "/volunteer/slots/{slot_id:int}/leave",
            Rule(SIGN_IN, FORBIDDEN, HIDDEN, FORBIDDEN),
        ),
        Row("POST", "/volunteer/slots/{slot_id:int}/wish", VOLUNTEERS),
        Row("POST", "/volunteer/slots/{slot_id:int}/unwish", VOLUNTEERS),
        Row("GET", "/volunteer/upload", SIGNED_IN),
        Row("GET", "/volunteer/clips", SIGNED_IN),
        Row("GET", "/volunteer/consent/new", SIGNED_IN),
        Row(
            "POST",
            "/volunteer/consent/new",
            Rule(SIGN_IN, REFUSED, REFUSED, REFUSED),
            why="an empty form is refused once the caller is let in",
        ),
        Row(
            "GET",
            "/volunteer/consent/link",
            Rule(SIGN_IN, REFUSED, REFUSED, REFUSED),
            why="asks which consent and clip",
        ),
        Row("POST", "/volunteer/consent/link", Rule(SIGN_IN, REFUSED, REFUSED, REFUSED)),
        # tus uploads: volunteers and staff; A's unfinished upload is hidden from B.
        Row("POST", "/api/v1/uploads", SIGNED_IN, CREATE_UPLOAD),
        Row("HEAD", "/api/v1/uploads/{upload_id:str}", OWNER_OF_X, Probe(headers=TUS)),
        Row("PATCH", "/api/v1/uploads/{upload_id:str}", OWNER_OF_X, SEND_BYTES),
        Row(
            "POST",
            "/api/v1/uploads/{upload_id:str}",
            OWNER_OF_X,
            Probe(
                content=SEND_BYTES.content,
                headers={**SEND_BYTES.headers, "X-HTTP-Method-Override": "PATCH"},
            ),
        ),
        Row("DELETE", "/api/v1/uploads/{upload_id:str}", OWNER_OF_X, Probe(headers=TUS)),
        # Clips: their volunteer and staff; anyone else is told there is no such clip.
        Row("GET", "/api/v1/clips", SIGNED_IN, why="each sees only their own"),
        Row("GET", "/api/v1/my-clips", SIGNED_IN),
        Row("GET", "/api/v1/clips/{clip_id:int}", OWNER_OF_X),
        Row("PATCH", "/api/v1/clips/{clip_id:int}", OWNER_OF_X, NOTHING),
        Row("DELETE", "/api/v1/clips/{clip_id:int}", OWNER_OF_X),
        Row(
            "PUT",
            "/api/v1/clips/{clip_id:int}/captions",
            OWNER_OF_X,
            Probe(content=b"1\n00:00:00,000 --> 00:00:01,000\nHello.\n"),
        ),
        Row("GET", "/api/v1/clips/{clip_id:int}/cues", OWNER_OF_X),
        Row("PUT", "/api/v1/clips/{clip_id:int}/cues", OWNER_OF_X, CUES),
        Row("GET", "/media/clips/{clip_id:int}/{name:str}", MEDIA_OF_X),
        Row(
            "POST",
            "/api/v1/clips/{clip_id:int}/consents",
            Rule(SIGN_IN, OK, FORBIDDEN, OK),
            Probe(json={"consent_id": "{consent_id}"}),
            why="linking X's own consent again changes nothing; B is refused (see report)",
        ),
        Row(
            "POST",
            F + "/consents",
            Rule(SIGN_IN, OK, OK, OK),
            Probe(json=CONSENT),
            why="volunteers and staff witness consent",
        ),
        # The interviewee's private link, over the API and as pages.
        Row("GET", "/api/v1/consent/{token:str}", OWN_LINK),
        Row("PATCH", "/api/v1/consent/{token:str}", OWN_LINK, NOTHING),
        Row("POST", "/api/v1/consent/{token:str}/approve", OWN_LINK),
        Row("POST", "/api/v1/consent/{token:str}/withdraw", OWN_LINK),
        Row("GET", "/api/v1/consent/{token:str}/clips/{clip_id:int}/cues", LINK_OF_X),
        Row("PUT", "/api/v1/consent/{token:str}/clips/{clip_id:int}/cues", LINK_OF_X, CUES),
        Row("GET", "/consent/{token:str}", OWN_LINK),
        Row("POST", "/consent/{token:str}/approve", OWN_LINK),
        Row("GET", "/consent/{token:str}/change", OWN_LINK),
        Row(
            "POST",
            "/consent/{token:str}/change",
            Rule(HIDDEN, HIDDEN, HIDDEN, HIDDEN, x=REFUSED, y=REFUSED),
            why="an empty form is refused once the link is known",
        ),
        Row("GET", "/consent/{token:str}/withdraw", OWN_LINK),
        Row("POST", "/consent/{token:str}/withdraw", OWN_LINK),
        Row("GET", "/consent/{token:str}/media/{clip_id:int}/{name:str}", LINK_OF_X),
        Row("GET", "/consent/{token:str}/clips/{clip_id:int}/captions", LINK_OF_X),
        Row(
            "POST",
            "/consent/{token:str}/clips/{clip_id:int}/captions",
            LINK_OF_X,
            Probe(form={"cue-1": "Hello again."}),
        ),
        # Consent and publication over the API: staff only.
        Row("GET", F + "/consents", STAFF_ONLY),
        Row("POST", F + "/consents/{consent_id:int}/withdraw", STAFF_ONLY),
        Row("POST", F + "/consents/{consent_id:int}/new-link", STAFF_ONLY),
        Row("POST", F + "/consents/{consent_id:int}/revoke-link", STAFF_ONLY),
        Row("GET", F + "/consents/{consent_id:int}/export", STAFF_ONLY),
        Row(
            "GET",
            F + "/consents/{consent_id:int}/export/{name:path}",
            STAFF_ONLY,
            Probe(params={"name": "clip-{X}/web.mp4"}),
        ),
        Row("POST", F + "/consents/{consent_id:int}/erase", STAFF_ONLY),
        Row("GET", F + "/publication-rules", STAFF_ONLY),
        Row("PATCH", F + "/publication-rules", STAFF_ONLY, NOTHING),
        Row("GET", F + "/review-queue", STAFF_ONLY),
        Row("POST", F + "/clips/{clip_id:int}/publish", STAFF_REFUSED_INPUT, why="not approved"),
        Row("POST", F + "/clips/{clip_id:int}/unpublish", STAFF_ONLY),
        Row("GET", F + "/audit", STAFF_ONLY),
        # Links between clips, sessions and posts over the API: staff only.
        Row("GET", F + "/clips/{clip_id:int}/links", STAFF_ONLY),
        Row("GET", F + "/sessions/{session_id:int}/links", STAFF_ONLY),
        Row("GET", F + "/posts/{post_id:int}/links", STAFF_ONLY),
    ]
    for a, b in (
        ("clips/{clip_id:int}", "posts/{post_id:int}"),
        ("clips/{clip_id:int}", "sessions/{session_id:int}"),
        ("posts/{post_id:int}", "clips/{clip_id:int}"),
        ("posts/{post_id:int}", "sessions/{session_id:int}"),
        ("sessions/{session_id:int}", "clips/{clip_id:int}"),
        ("sessions/{session_id:int}", "posts/{post_id:int}"),
    ):
        rows.append(Row("PUT", f"{F}/{a}/{b}", STAFF_ONLY, Probe(params=P)))
        rows.append(Row("DELETE", f"{F}/{a}/{b}", STAFF_ONLY, Probe(params=P)))
    # Staff pages: staff only; the sign-in page for anyone else who is not signed in.
    staff_gets = [
        "/staff",
        "/staff/festivals/new",
        S,
        S + "/edit",
        S + "/delete",
        S + "/venues/new",
        S + "/venues/{venue_id:int}/edit",
        S + "/venues/{venue_id:int}/delete",
        S + "/rooms/new",
        S + "/rooms/{room_id:int}/edit",
        S + "/rooms/{room_id:int}/delete",
        S + "/people/new",
        S + "/people/{person_id:int}/edit",
        S + "/people/{person_id:int}/delete",
        S + "/sessions/new",
        S + "/sessions/{session_id:int}/edit",
        S + "/sessions/{session_id:int}/delete",
        S + "/posts",
        S + "/posts/new",
        S + "/posts/{post_id:int}/edit",
        S + "/posts/{post_id:int}/delete",
        S + "/volunteers",
        S + "/volunteers/{volunteer_id:int}",
        S + "/volunteers/{volunteer_id:int}/revoke",
        S + "/slots",
        S + "/slots/new",
        S + "/slots/bulk",
        S + "/slots/{slot_id:int}/edit",
        S + "/slots/{slot_id:int}/delete",
        S + "/coverage",
        S + "/proposal",
        S + "/proposals/{proposal_id:int}",
        S + "/crew-rules",
        S + "/clips",
        S + "/clips/{clip_id:int}/captions",
        S + "/clips/{clip_id:int}/links",
        S + "/sessions/{session_id:int}/links",
        S + "/posts/{post_id:int}/links",
        S + "/review",
        S + "/consents",
        S + "/consents/{consent_id:int}",
        S + "/consents/{consent_id:int}/withdraw",
        S + "/consents/{consent_id:int}/new-link",
        S + "/consents/{consent_id:int}/stop-link",
        S + "/consents/{consent_id:int}/erase",
        S + "/consents/{consent_id:int}/download",
        S + "/audit",
        S + "/publication-rules",
    ]
    rows += [Row("GET", path, STAFF_ONLY) for path in staff_gets]
    # Staff forms. An empty form is refused where the form asks for something; where it
    # only confirms, the action is done (in the throwaway copy).
    staff_posts_done = [
        S + "/delete",
        S + "/people/{person_id:int}/delete",
        S + "/sessions/{session_id:int}/delete",
        S + "/posts/{post_id:int}/delete",
        S + "/volunteers/{volunteer_id:int}/revoke",
        S + "/volunteers/{volunteer_id:int}/reinstate",
        S + "/volunteers/{volunteer_id:int}/training/{training_id:int}/remove",
        S + "/slots/{slot_id:int}/delete",
        S + "/coverage/slots/{slot_id:int}/unassign/{volunteer_id:int}",
        S + "/proposal",
        S + "/proposals/{proposal_id:int}/apply",
        S + "/clips/{clip_id:int}/captions",
        S + "/review/clips/{clip_id:int}/unpublish",
        S + "/consents/{consent_id:int}/withdraw",
        S + "/consents/{consent_id:int}/new-link",
        S + "/consents/{consent_id:int}/stop-link",
        S + "/consents/{consent_id:int}/erase",
    ]
    staff_posts_refused = [
        "/staff/festivals/new",
        S + "/venues/{venue_id:int}/delete",
        S + "/edit",
        S + "/venues/new",
        S + "/venues/{venue_id:int}/edit",
        S + "/rooms/new",
        S + "/rooms/{room_id:int}/edit",
        S + "/rooms/{room_id:int}/delete",
        S + "/people/new",
        S + "/people/{person_id:int}/edit",
        S + "/sessions/new",
        S + "/sessions/{session_id:int}/edit",
        S + "/posts/new",
        S + "/posts/import",
        S + "/posts/{post_id:int}/edit",
        S + "/volunteers",
        S + "/volunteers/{volunteer_id:int}/training",
        S + "/volunteers/{volunteer_id:int}/suspend",
        S + "/slots/new",
        S + "/slots/bulk",
        S + "/slots/bulk/apply",
        S + "/slots/{slot_id:int}/edit",
        S + "/coverage/slots/{slot_id:int}/assign",
        S + "/coverage/slots/{slot_id:int}/no-show/{volunteer_id:int}",
        S + "/crew-rules",
        S + "/clips/{clip_id:int}/links/add",
        S + "/clips/{clip_id:int}/links/remove",
        S + "/sessions/{session_id:int}/links/add",
        S + "/sessions/{session_id:int}/links/remove",
        S + "/posts/{post_id:int}/links/add",
        S + "/posts/{post_id:int}/links/remove",
        S + "/review/clips/{clip_id:int}/publish",
        S + "/publication-rules",
    ]
    rows += [Row("POST", path, STAFF_ONLY, Probe(form={})) for path in staff_posts_done]
    rows += [Row("POST", path, STAFF_REFUSED_INPUT, Probe(form={})) for path in staff_posts_refused]
    return rows


ROWS: dict[tuple[str, str], Row] = {}
for _row in _rows():
    _key = (_row.method, _row.path)
    if _key in ROWS and _row.probe.params.get("clip_id") == "{P}":
        # A second row for a route, for another clip: kept under its own key.
        _key = (_row.method, _row.path + " [clip P]")
    assert _key not in ROWS, f"two rows for {_key}"
    ROWS[_key] = _row
