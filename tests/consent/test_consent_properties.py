"""The publication gate as a stateful property: no public path ever serves a clip whose
consent does not allow it at that moment, and the audit log stays complete.

Design
------
* **The real app over HTTP.** Every example builds a fresh app (``create_app`` on
  ``make_settings`` of a new temporary directory) on its own database, copied from one
  made once per session: migrated (the ``databases`` fixture copies the run's migrated
  template) and then seeded over HTTP with one festival, a staff token and two
  volunteers. On SQLite the copy is the seeded file; on PostgreSQL it is ``CREATE
  DATABASE ... TEMPLATE`` of the seeded database, dropped when the example ends. Copying
  the seeded database saves the password hashing and the set-up requests on every
  example; the schema and the data are the same as building them each time.
* **Synchronous driving.** Hypothesis runs a state machine's rules synchronously, so the
  app is driven with Litestar's synchronous ``TestClient`` (present in 2.25). Entered as a
  context manager it starts one anyio blocking portal, a background thread with its own
  event loop, and runs the app's lifespan there; every request is then sent into that
  same loop. Work the app does outside a request (``jobs.run_until_idle()``, a direct
  write through ``app.state.db``) goes through ``client.blocking_portal.call`` into that
  loop too, so the database engine and the job queue only ever see the loop they were
  made on. Nothing here opens a second loop or shares a connection across threads,
  which is what makes it robust (``asyncio.run`` per call would break the engine's pool).
* **Clips** are uploaded through tus (one creation-with-upload request, as a phone on a
  good connection sends it) from one 1 s video generated once per session; each upload is
  its own tus upload and its own stored original. (``import_file`` would be quicker still,
  but it names the original by the file's hash, so the same file imported twice clashes
  on the upload id and would share one stored original.) Jobs run only when a rule says so:
  a clip stays "processing" until then, and a withdrawn clip keeps its files until then.
* **Time passing** is simulated for expiry: the consent's ``expires_on`` is set to
  yesterday through ``app.state.db.write()``, which the gate must honour at once, and a
  separate rule runs the sweep job (the queued sweep's ``run_after`` is moved to now, as
  ten minutes passing would, then ``enqueue`` + ``run_until_idle``).
* **The model** is this file's own reading of issue 5, section 5: a clip is public iff it
  is ready, not withdrawn, published by staff, has at least one consent, every consent
  is live (not withdrawn, end date not passed) and includes the timeline, every consent is
  approved when review is required, and it has captions when they are required. It never
  calls ``festival.consent.service``: a test that asked the gate what the gate thinks
  could not fail. Staff publishing is checked against the same model (200 exactly when
  nothing blocks it, else 409).

Rules (the steps hypothesis orders at will): a tus upload (sometimes naming a consent in
``Upload-Metadata``); the jobs running; captions (SRT) attached; consent recorded on a
volunteer's phone, for no clip, for their clip (a second interviewee when it has one) or
for another volunteer's clip (403); linking a consent to a clip (403/409 when not
theirs or withdrawn); bad consents (no interviewee, unknown scope, past end date: refused,
nothing logged); a whole interview in one step; and through the interviewee's link:
approve, change scopes / end date / chosen name, withdraw; and for staff: publish,
unpublish, delete a clip, change the review and captions rules, withdraw on someone's
behalf, erase them (UK GDPR), replace or revoke their link; and time: an end date passes,
the sweep runs. Every run opens with one interview already public, and the consent-picking
steps pick one on show as often as not, so what the public can see is what gets changed.

Invariants, after every step:

* every public surface of every clip (the four media files, a ranged request for the
  video, and the public page ``/clips/{id}`` when the app has that route, checked in
  ``app.routes``) answers 404/410 when the model says not public (410 for the page of a
  withdrawn clip, 404 for a deleted one), and 200 (206 for the range, ``no-cache``) when
  it says public;
* the review queue agrees with the model on which clips nothing blocks but publishing,
  and which are published or withdrawn;
* the audit log, read as staff, holds exactly the events the model expects (consent
  given, linked, approved, changed, withdrawn or expired with who did it, one clip
  take-down per clip, publications, link changes, erasures), never changes or loses an
  earlier event, and holds no interviewee's name, chosen name, email or phone;
* after the jobs run, a withdrawn or deleted clip has no files left in the store.

Two scripted tests run the same steps in a fixed order first (publish, withdraw, gone;
an end date passing, then the sweep), so the surfaces are seen to work. The property
test then runs 25 examples of up to 30 steps, about 40 to 60 seconds on two cores, and
asserts that the runs published clips, let end dates pass and took public clips down.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from litestar import Litestar
from litestar.testing import TestClient

from festival.accounts.service import create_or_update_staff, new_api_token
from festival.app import create_app
from festival.db import tables
from tests.clips.helpers import OCTETS, TUS, metadata
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, Databases, make_settings
from tests.media import clips as make

pytestmark = pytest.mark.slow

T = TypeVar("T")
SLUG = "consent-fest"
BASE = "http://festival.test"
API = f"/api/v1/festivals/{SLUG}"
SCOPES = ("timeline", "blog", "social", "training", "research")
MEDIA = ("web.mp4", "poster.jpg", "thumb.jpg", "captions.vtt")
PAGE_ROUTE = re.compile(r"^/clips/\{[^}/]+:int\}$")
MAX_CLIPS = 5
SRT = b"""1
00:00:00,000 --> 00:00:00,900
My name is not in these captions.
"""
# Events the model predicts exactly: each must be there as often as the model says, and
# no more. ``media-deleted`` is checked apart: the purge job may run more than once for a
# clip (it is idempotent) and each run records it. Other actions are only held to being
# append-only and free of personal data.
MODELLED = {
    "consent-given",
    "consent-linked",
    "clip-approved",
    "consent-changed",
    "consent-withdrawn",
    "consent-expired",
    "clip-taken-down",
    "clip-published",
    "clip-unpublished",
    "link-replaced",
    "link-revoked",
    "interviewee-erased",
    "unconsented-clip-deleted",
}


# --- the session's seed: one migrated, populated database and one small video ------------


@dataclass(frozen=True)
class Seed:
    database_url: str
    video: bytes
    staff: dict[str, str]
    volunteers: dict[str, dict[str, str]]


@pytest.fixture(scope="session")
def seed(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    """The festival, its staff token and two volunteers, made once over HTTP."""
    folder = tmp_path_factory.mktemp("consent-seed")
    video = make.portrait_h264_mp4(folder / "phone.mp4", seconds=1.0).read_bytes()
    data_dir = folder / "var"
    database_url = databases.new(data_dir)
    app = create_app(make_settings(data_dir, database_url=database_url))
    today = datetime.now(UTC).date()
    with TestClient(app, base_url=BASE) as client:
        db = app.state.db
        client.blocking_portal.call(
            create_or_update_staff, db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser"
        )
        token = client.blocking_portal.call(new_api_token, db, STAFF_EMAIL)
        staff = {"Authorization": f"Bearer {token}"}
        made = client.post(
            "/api/v1/festivals",
            json={
                "slug": SLUG,
                "name": "Consent Fest",
                "starts_on": (today - timedelta(days=1)).isoformat(),
                "ends_on": (today + timedelta(days=3)).isoformat(),
                "timezone": "UTC",
            },
            headers=staff,
        )
        assert made.status_code == 201, made.text
        volunteers = {}
        for name in ("ada", "bo"):
            invited = client.post(
                f"{API}/volunteers",
                json={"email": f"{name}@crew.test", "name": name.title()},
                headers=staff,
            )
            assert invited.status_code == 201, invited.text
            volunteers[name] = {"Authorization": f"Bearer {invited.json()['token']}"}
    # The app is closed: nobody is connected to the seed, so PostgreSQL can copy it.
    yield Seed(database_url=database_url, video=video, staff=staff, volunteers=volunteers)
    databases.drop(database_url)


# --- the model ---------------------------------------------------------------------------


@dataclass
class ClipModel:
    id: int
    owner: str
    ready: bool = False
    captions: bool = False
    published: bool = False
    withdrawn: bool = False
    consents: list[int] = field(default_factory=list)


@dataclass
class ConsentModel:
    id: int
    witness: str
    token: str | None
    scopes: set[str]
    expires_on: date | None
    approved: bool = False
    withdrawn_by: str = ""  # "", "interviewee", "staff" or "expiry"
    erased: bool = False
    clips: list[int] = field(default_factory=list)

    @property
    def withdrawn(self) -> bool:
        return bool(self.withdrawn_by)


def today() -> date:
    return datetime.now(UTC).date()


Key = tuple[str, int | None, int | None, object]


# What the runs explored, so that a machine that never publishes cannot pass.
STATS: Counter[str] = Counter()


# --- the machine -------------------------------------------------------------------------


class ConsentMachine(RuleBasedStateMachine):
    """Uploads, consents, approvals, scope changes, publications, withdrawals, expiries
    and staff actions, in any order, against the real app."""

    seed: Seed  # set by the test before running
    databases: Databases  # likewise

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="consent-machine-"))
        data_dir = self.folder / "var"
        self.database_url = self.databases.copy(self.seed.database_url, data_dir)
        self.app: Litestar = create_app(make_settings(data_dir, database_url=self.database_url))
        self.client: TestClient[Litestar] = TestClient(self.app, base_url=BASE)
        self.client.__enter__()
        self.has_page = any(PAGE_ROUTE.match(r.path) for r in self.app.routes)
        self.staff = self.seed.staff
        self.volunteers = self.seed.volunteers
        self.clips: dict[int, ClipModel] = {}
        self.deleted: dict[int, ClipModel] = {}
        # Every clip ever made under each id: SQLite hands a deleted clip's id to the
        # next clip (see the report on issue 5; PostgreSQL's sequences never do), so the
        # audit log's events for one id may belong to several clips.
        self.incarnations: dict[int, list[ClipModel]] = {}
        self.consents: dict[int, ConsentModel] = {}
        self.require_review = True
        self.require_captions = True
        self.expected: Counter[Key] = Counter()
        self.seen_events: dict[int, str] = {}
        self.personal: list[str] = []
        self.people = 0
        self.token_failures = 0
        self.run_stats: set[str] = set()

    def teardown(self) -> None:
        try:
            self.client.__exit__(None, None, None)
        finally:
            self.databases.drop(self.database_url)
            shutil.rmtree(self.folder, ignore_errors=True)
            STATS.update(self.run_stats)
            STATS["runs"] += 1

    # --- helpers ------------------------------------------------------------------------

    def call(self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Run a coroutine function in the app's own event loop."""
        return self.client.blocking_portal.call(function, *args)

    def send(
        self,
        method: str,
        url: str,
        expect: int | set[int],
        auth: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        response = self.client.request(method, url, headers=auth or {}, **kw)
        wanted = {expect} if isinstance(expect, int) else expect
        assert response.status_code in wanted, (
            f"{method} {url}: expected {sorted(wanted)}, got {response.status_code}: "
            f"{response.text[:500]}"
        )
        return response

    def on_show(self, consent: ConsentModel) -> bool:
        return any(self.public(self.clips[c]) for c in consent.clips)

    def pick(
        self, data: st.DataObject, pool: list[ConsentModel] | None = None
    ) -> ConsentModel | None:
        """A consent from ``pool`` (all by default), as often as not one whose clip is
        public now: the steps that matter most act on what the public can see."""
        ids = sorted(c.id for c in (self.consents.values() if pool is None else pool))
        showing = [i for i in ids if self.on_show(self.consents[i])]
        if showing and data.draw(st.booleans(), label="one on show"):
            ids = showing
        if not ids:
            return None
        return self.consents[data.draw(st.sampled_from(ids), label="consent")]

    def live(self, consent: ConsentModel) -> bool:
        return not consent.withdrawn and (
            consent.expires_on is None or consent.expires_on >= today()
        )

    def publishable(self, clip: ClipModel, scope: str = "timeline") -> bool:
        """Nothing stands between the clip and the public but staff publishing it."""
        if clip.withdrawn or not clip.ready or not clip.consents:
            return False
        for consent_id in clip.consents:
            consent = self.consents[consent_id]
            if not self.live(consent) or scope not in consent.scopes:
                return False
            if self.require_review and not consent.approved:
                return False
        return clip.captions or not self.require_captions

    def public(self, clip: ClipModel) -> bool:
        return clip.published and self.publishable(clip)

    def withdraw_in_model(self, consent: ConsentModel, by: str) -> None:
        action = "consent-expired" if by == "expiry" else "consent-withdrawn"
        self.expected[(action, None, consent.id, by)] += 1
        was_public = {c for c in consent.clips if self.public(self.clips[c])}
        consent.withdrawn_by = by
        for clip_id in consent.clips:
            clip = self.clips[clip_id]
            if clip.withdrawn:
                continue
            if clip_id in was_public:
                self.run_stats.add(f"a public clip was taken down ({by})")
            clip.withdrawn = True
            clip.published = False
            self.expected[("clip-taken-down", clip_id, None, None)] += 1
        self.run_stats.add(f"a consent was withdrawn ({by})")

    def new_person(self) -> dict[str, str]:
        """Distinctive personal data, to prove none of it reaches the audit log."""
        self.people += 1
        n = self.people
        person = {
            "interviewee_name": f"Wilhelmina Quonsetbury {n}",
            "display_name": f"Marigold Thistlewick {n}",
            "contact_email": f"quonsetbury.{n}@interviewee.test",
            "contact_phone": f"+44 7700 900{n:03d}",
        }
        self.personal += list(person.values())
        return person

    def token_of(self, created: Any) -> str:
        return str(created.json()["review_url"]).rsplit("/", 1)[1]

    def new_clip_id(self, auth: dict[str, str]) -> int:
        clips = self.send("GET", "/api/v1/my-clips", 200, auth).json()["clips"]
        [new] = [c["id"] for c in clips if c["id"] not in self.clips]
        return int(new)

    def run_all_jobs(self) -> None:
        self.call(self.app.state.jobs.run_until_idle)
        for clip in self.clips.values():
            clip.ready = True  # the 1 s clip always processes
        self.check_purged()

    def check_purged(self) -> None:
        """After the jobs ran, nothing of a withdrawn clip is left in the store."""
        root = self.app.state.clips.store.root
        for clip in self.deleted.values():
            left = [p for p in (root / "clips" / str(clip.id)).rglob("*") if p.is_file()]
            assert left == [], f"clip {clip.id} was deleted but {left} remain"
        for clip in self.clips.values():
            if clip.withdrawn:
                left = [p for p in (root / "clips" / str(clip.id)).rglob("*") if p.is_file()]
                assert left == [], f"clip {clip.id} was withdrawn but {left} remain"
                seen = self.send("GET", f"/api/v1/clips/{clip.id}", 200, self.staff).json()
                kept = [k for k, v in seen.items() if k.endswith("_url") and v]
                assert kept == [], f"clip {clip.id} was withdrawn but still has {kept}"

    # --- uploads and processing ----------------------------------------------------------

    def upload_as(self, owner: str, consent: ConsentModel | None) -> ClipModel | None:
        auth = self.volunteers[owner]
        meta = {"filename": "interview.mp4", "filetype": "video/mp4"}
        if consent is not None:
            meta["consent"] = str(consent.id)
        expect = 201
        if consent is not None and consent.witness != owner:
            expect = 403
        elif consent is not None and consent.withdrawn:
            expect = 409
        self.send(
            "POST",
            "/api/v1/uploads",
            expect,
            {
                **auth,
                **TUS,
                "Upload-Length": str(len(self.seed.video)),
                "Upload-Metadata": metadata(**meta),
                "Content-Type": OCTETS,
            },
            content=self.seed.video,
        )
        if expect != 201:
            return None
        clip = ClipModel(id=self.new_clip_id(auth), owner=owner)
        if self.deleted.pop(clip.id, None) is not None:
            self.run_stats.add("a deleted clip's id was given to a new clip")
        self.clips[clip.id] = clip
        self.incarnations.setdefault(clip.id, []).append(clip)
        if consent is not None:
            clip.consents.append(consent.id)
            consent.clips.append(clip.id)
            self.expected[("consent-linked", clip.id, consent.id, None)] += 1
        return clip

    @precondition(lambda self: len(self.clips) < MAX_CLIPS)
    @rule(owner=st.sampled_from(["ada", "bo"]), data=st.data())
    def upload(self, owner: str, data: st.DataObject) -> None:
        consent = None
        if self.consents and data.draw(st.booleans(), label="consent in Upload-Metadata"):
            consent = self.consents[data.draw(st.sampled_from(sorted(self.consents)), "consent")]
        self.upload_as(owner, consent)

    @rule()
    def run_jobs(self) -> None:
        self.run_all_jobs()

    @precondition(lambda self: self.clips)
    @rule(data=st.data())
    def attach_captions(self, data: st.DataObject) -> None:
        clip = self.clips[data.draw(st.sampled_from(sorted(self.clips)), label="clip")]
        if clip.withdrawn:
            # Captions sent for a withdrawn clip are still accepted and stored again after
            # the purge (reported on issue 5). That is about what is kept, not about what
            # the public sees (still 410), so this machine leaves it out.
            return
        self.send(
            "PUT",
            f"/api/v1/clips/{clip.id}/captions",
            200 if clip.ready else 409,
            self.volunteers[clip.owner],
            content=SRT,
        )
        clip.captions = clip.captions or clip.ready

    # --- consent on the volunteer's phone --------------------------------------------------

    def record(
        self,
        witness: str,
        clip: ClipModel | None,
        scopes: set[str],
        credit: str,
        expires_in: int | None,
    ) -> ConsentModel | None:
        person = self.new_person()
        body: dict[str, Any] = {
            "scopes": sorted(scopes),
            "credit": credit,
            "form_version": 1,
            **person,
        }
        if expires_in is not None:
            body["expires_on"] = (today() + timedelta(days=expires_in)).isoformat()
        if clip is not None:
            body["clip_id"] = clip.id
        expect = 201
        if clip is not None and clip.owner != witness:
            expect = 403
        elif clip is not None and clip.withdrawn:
            expect = 409
        response = self.send("POST", f"{API}/consents", expect, self.volunteers[witness], json=body)
        if expect != 201:
            return None
        created = response.json()["consent"]
        assert created["state"] == "given"
        assert sorted(created["scopes"]) == sorted(scopes)
        consent = ConsentModel(
            id=created["id"],
            witness=witness,
            token=self.token_of(response),
            scopes=set(scopes),
            expires_on=None if expires_in is None else today() + timedelta(days=expires_in),
        )
        self.consents[consent.id] = consent
        self.expected[("consent-given", None, consent.id, None)] += 1
        if clip is not None:
            clip.consents.append(consent.id)
            consent.clips.append(clip.id)
            self.expected[("consent-linked", clip.id, consent.id, None)] += 1
        return consent

    scopes_strategy = st.builds(
        lambda timeline, others: ({"timeline"} if timeline else set()) | others,
        st.sampled_from([True, True, True, False]),
        st.sets(st.sampled_from(SCOPES[1:])),
    )

    @rule(
        foreign=st.sampled_from([False, False, False, True]),
        data=st.data(),
        scopes=scopes_strategy,
        credit=st.sampled_from(["name", "chosen", "anonymous"]),
        expires_in=st.none() | st.integers(1, 60),
    )
    def record_consent(
        self,
        foreign: bool,
        data: st.DataObject,
        scopes: set[str],
        credit: str,
        expires_in: int | None,
    ) -> None:
        """Consent recorded on a volunteer's phone, usually for a clip they filmed (a second
        interviewee, when the clip has one already); sometimes for another's (403)."""
        clip = None
        witness = data.draw(st.sampled_from(["ada", "bo"]), label="witness")
        if self.clips and data.draw(st.integers(0, 3), label="linked at once") > 0:
            clip = self.clips[data.draw(st.sampled_from(sorted(self.clips)), label="clip")]
            witness = clip.owner if not foreign else {"ada": "bo", "bo": "ada"}[clip.owner]
        consent = self.record(witness, clip, scopes, credit, expires_in)
        if consent is not None and clip is not None and len(clip.consents) > 1:
            self.run_stats.add("a clip with several interviewees")

    @precondition(lambda self: self.clips and self.consents)
    @rule(actor=st.sampled_from(["ada", "bo"]), data=st.data())
    def link(self, actor: str, data: st.DataObject) -> None:
        clip = self.clips[data.draw(st.sampled_from(sorted(self.clips)), label="clip")]
        consent = self.pick(data)
        assert consent is not None
        if clip.owner != actor or consent.witness != actor:
            expect = 403  # someone else's clip, or a consent they did not witness
        elif consent.withdrawn:
            expect = 409
        else:
            expect = 201
        before = self.audit_events()
        self.send(
            "POST",
            f"/api/v1/clips/{clip.id}/consents",
            expect,
            self.volunteers[actor],
            json={"consent_id": consent.id},
        )
        if expect != 201:
            assert self.audit_events() == before, "a refused link changed the audit log"
            self.run_stats.add("a foreign or withdrawn link was refused")
            return
        if consent.id not in clip.consents:
            clip.consents.append(consent.id)
            consent.clips.append(clip.id)
            self.expected[("consent-linked", clip.id, consent.id, None)] += 1

    @rule(kind=st.sampled_from(["nobody", "unknown scope", "past expiry", "foreign clip"]))
    def bad_consent(self, kind: str) -> None:
        """Bad input is refused and nothing changes."""
        body: dict[str, Any] = {"scopes": ["timeline"], "credit": "name", "form_version": 1}
        body.update(self.new_person())
        auth = self.volunteers["ada"]
        expect: set[int] = {400, 422}
        if kind == "nobody":
            body.update(interviewee_name="", display_name="")
        elif kind == "unknown scope":
            body["scopes"] = ["timeline", "billboards"]
        elif kind == "past expiry":
            body["expires_on"] = (today() - timedelta(days=1)).isoformat()
        else:
            theirs = [c for c in self.clips.values() if c.owner == "bo"]
            if not theirs:
                return
            body["clip_id"] = theirs[0].id
            expect = {403}
        before = self.audit_events()
        self.send("POST", f"{API}/consents", expect, auth, json=body)
        assert self.audit_events() == before, f"refused consent ({kind}) changed the audit log"

    interview_args = {
        "owner": st.sampled_from(["ada", "bo"]),
        "scopes": scopes_strategy,
        "approve": st.booleans(),
        "captions": st.booleans(),
        "second": st.sampled_from([False, False, True]),
    }

    @initialize(
        owner=st.sampled_from(["ada", "bo"]),
        scopes=scopes_strategy,
        second=st.sampled_from([False, False, True]),
    )
    def opening_interview(self, owner: str, scopes: set[str], second: bool) -> None:
        """Every run starts with an interview on the timeline (consented for it, approved,
        captioned, published), so that the steps after it act on a public clip; the rules
        make others that are not."""
        clip = self.interview(owner, scopes | {"timeline"}, True, True, second)
        self.do_publish(clip)
        assert self.public(clip)

    @precondition(lambda self: len(self.clips) < MAX_CLIPS)
    @rule(**interview_args)
    def whole_interview(
        self, owner: str, scopes: set[str], approve: bool, captions: bool, second: bool
    ) -> None:
        self.interview(owner, scopes, approve, captions, second)

    def interview(
        self, owner: str, scopes: set[str], approve: bool, captions: bool, second: bool
    ) -> ClipModel:
        """A volunteer's usual journey in one step: consent, upload, processing, the
        interviewee's approval, captions, and sometimes a second interviewee."""
        consent = self.record(owner, None, scopes, "anonymous", None)
        assert consent is not None
        clip = self.upload_as(owner, consent)
        assert clip is not None
        self.run_all_jobs()
        if approve:
            self.do_approve(consent)
        if second:
            other = self.record(owner, clip, scopes | {"timeline"}, "name", 20)
            assert other is not None
            self.run_stats.add("a clip with several interviewees")
            if approve:
                self.do_approve(other)
        if captions:
            self.send(
                "PUT", f"/api/v1/clips/{clip.id}/captions", 200, self.volunteers[owner], content=SRT
            )
            clip.captions = True
        return clip

    # --- the interviewee's private link ----------------------------------------------------

    def pick_with_token(self, data: st.DataObject) -> ConsentModel | None:
        return self.pick(data, [c for c in self.consents.values() if c.token is not None])

    def do_approve(self, consent: ConsentModel) -> None:
        assert consent.token is not None
        response = self.send(
            "POST",
            f"/api/v1/consent/{consent.token}/approve",
            409 if consent.withdrawn else 200,
        )
        if consent.withdrawn:
            return
        assert response.json()["consent"]["approved_at"] is not None
        if not consent.approved:
            consent.approved = True
            self.expected[("clip-approved", None, consent.id, None)] += 1

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        consent = self.pick_with_token(data)
        if consent is not None:
            self.do_approve(consent)

    @precondition(lambda self: self.consents)
    @rule(
        data=st.data(),
        scopes=scopes_strategy,
        expiry=st.sampled_from(["keep", "none", "future", "past"]),
        rename=st.booleans(),
    )
    def change(self, data: st.DataObject, scopes: set[str], expiry: str, rename: bool) -> None:
        consent = self.pick_with_token(data)
        if consent is None:
            return
        body: dict[str, Any] = {"scopes": sorted(scopes)}
        new_end = consent.expires_on
        if expiry == "none":
            body["expires_on"] = None
            new_end = None
        elif expiry == "future":
            new_end = today() + timedelta(days=data.draw(st.integers(1, 90), label="days"))
            body["expires_on"] = new_end.isoformat()
        elif expiry == "past":
            body["expires_on"] = (today() - timedelta(days=1)).isoformat()
        if rename:
            body.update(credit="chosen", display_name=self.new_person()["display_name"])
        if not self.live(consent):
            expect = 409  # withdrawn, or its end date has passed: nothing to change
        elif expiry == "past":
            expect = 422
        else:
            expect = 200
        before = self.audit_events()
        self.send("PATCH", f"/api/v1/consent/{consent.token}", expect, json=body)
        if expect != 200:
            assert self.audit_events() == before, "a refused change changed the audit log"
            return
        consent.scopes = set(scopes)
        consent.expires_on = new_end
        self.expected[("consent-changed", None, consent.id, None)] += 1

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def interviewee_withdraws(self, data: st.DataObject) -> None:
        consent = self.pick_with_token(data)
        if consent is None:
            return
        self.send(
            "POST",
            f"/api/v1/consent/{consent.token}/withdraw",
            409 if consent.withdrawn else 200,
        )
        if not consent.withdrawn:
            self.withdraw_in_model(consent, "interviewee")

    # --- staff -------------------------------------------------------------------------

    @precondition(lambda self: self.clips)
    @rule(data=st.data())
    def publish(self, data: st.DataObject) -> None:
        ids = sorted(self.clips)
        waiting = [i for i in ids if not self.clips[i].published and not self.clips[i].withdrawn]
        if waiting and data.draw(st.booleans(), label="one not yet published"):
            ids = waiting
        self.do_publish(self.clips[data.draw(st.sampled_from(ids), label="clip")])

    def do_publish(self, clip: ClipModel) -> None:
        """Staff publish from the review queue: refused (409) while anything blocks it."""
        ok = self.publishable(clip)
        response = self.send(
            "POST", f"{API}/clips/{clip.id}/publish", 200 if ok else 409, self.staff
        )
        if not ok:
            return
        assert response.json()["blockers"] == []
        self.run_stats.add("a clip was published")
        if not clip.published:
            clip.published = True
            self.expected[("clip-published", clip.id, None, None)] += 1

    @precondition(lambda self: self.clips)
    @rule(data=st.data(), by_staff=st.booleans())
    def delete_clip(self, data: st.DataObject, by_staff: bool) -> None:
        """The volunteer who filmed it, or staff, delete a clip and its files outright."""
        clip = self.clips.pop(data.draw(st.sampled_from(sorted(self.clips)), label="clip"))
        auth = self.staff if by_staff else self.volunteers[clip.owner]
        self.send("DELETE", f"/api/v1/clips/{clip.id}", 204, auth)
        self.deleted[clip.id] = clip
        for consent_id in clip.consents:
            self.consents[consent_id].clips.remove(clip.id)
        self.run_stats.add("a clip was deleted")

    @precondition(lambda self: self.clips)
    @rule(data=st.data())
    def unpublish(self, data: st.DataObject) -> None:
        clip = self.clips[data.draw(st.sampled_from(sorted(self.clips)), label="clip")]
        self.send("POST", f"{API}/clips/{clip.id}/unpublish", 200, self.staff)
        if clip.published:
            clip.published = False
            self.expected[("clip-unpublished", clip.id, None, None)] += 1

    @rule(review=st.booleans(), captions=st.booleans())
    def set_rules(self, review: bool, captions: bool) -> None:
        got = self.send(
            "PATCH",
            f"{API}/publication-rules",
            200,
            self.staff,
            json={"require_review": review, "require_captions": captions},
        ).json()
        assert (got["require_review"], got["require_captions"]) == (review, captions)
        self.require_review, self.require_captions = review, captions

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def staff_withdraws(self, data: st.DataObject) -> None:
        consent = self.pick(data)
        assert consent is not None
        self.send(
            "POST",
            f"{API}/consents/{consent.id}/withdraw",
            409 if consent.withdrawn else 200,
            self.staff,
        )
        if not consent.withdrawn:
            self.withdraw_in_model(consent, "staff")

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def staff_erases(self, data: st.DataObject) -> None:
        """UK GDPR erasure: a withdrawal by staff, the private link revoked for good."""
        consent = self.pick(data)
        assert consent is not None
        self.send("POST", f"{API}/consents/{consent.id}/erase", 204, self.staff)
        if not consent.withdrawn:
            self.withdraw_in_model(consent, "staff")
        self.expected[("interviewee-erased", None, consent.id, None)] += 1
        self.forget_token(consent)
        consent.erased = True
        self.run_stats.add("an interviewee was erased")

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def staff_replaces_link(self, data: st.DataObject) -> None:
        """A lost or shared link replaced: the old one stops working, the new one works
        (after a revocation too). An erased interviewee gets none (409)."""
        consent = self.pick(data)
        assert consent is not None
        expect = 409 if consent.erased else 201
        response = self.send("POST", f"{API}/consents/{consent.id}/new-link", expect, self.staff)
        if consent.erased:
            return
        self.expected[("link-replaced", None, consent.id, None)] += 1
        self.forget_token(consent)
        consent.token = self.token_of(response)
        self.send("GET", f"/api/v1/consent/{consent.token}", 200)

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def staff_revokes_link(self, data: st.DataObject) -> None:
        consent = self.pick(data)
        assert consent is not None
        self.send("POST", f"{API}/consents/{consent.id}/revoke-link", 204, self.staff)
        self.expected[("link-revoked", None, consent.id, None)] += 1
        self.forget_token(consent)

    def forget_token(self, consent: ConsentModel) -> None:
        old, consent.token = consent.token, None
        if old is not None and self.token_failures < 10:
            # The old link no longer opens anything (each miss counts towards the
            # link's rate limit, so only a few are tried).
            self.token_failures += 1
            self.send("GET", f"/api/v1/consent/{old}", 404)

    # --- time passing --------------------------------------------------------------------

    @precondition(lambda self: any(not c.withdrawn for c in self.consents.values()))
    @rule(data=st.data())
    def end_date_arrives(self, data: st.DataObject) -> None:
        """A consent's end date passes (the interviewee had set one, or it is simulated)."""
        consent = self.pick(data, [c for c in self.consents.values() if not c.withdrawn])
        assert consent is not None
        self.expire(consent)

    def expire(self, consent: ConsentModel) -> None:
        if self.on_show(consent):
            self.run_stats.add("a public clip's end date passed")
        yesterday = today() - timedelta(days=1)

        async def set_end(consent_id: int) -> None:
            async with self.app.state.db.write() as conn:
                await conn.execute(
                    sa.update(tables.consents)
                    .where(tables.consents.c.id == consent_id)
                    .values(expires_on=yesterday)
                )

        self.call(set_end, consent.id)
        consent.expires_on = yesterday
        self.run_stats.add("an end date passed")

    @rule()
    def sweep(self) -> None:
        """The sweep job runs (ten minutes passing: its next run is due now)."""

        async def due_now() -> None:
            async with self.app.state.db.write() as conn:
                await conn.execute(
                    sa.update(tables.jobs)
                    .where(tables.jobs.c.kind == "consent-sweep", tables.jobs.c.state == "queued")
                    .values(run_after=datetime.now(UTC) - timedelta(seconds=1))
                )
            await self.app.state.jobs.enqueue("consent-sweep", {})

        self.call(due_now)
        for consent in sorted(self.consents.values(), key=lambda c: c.id):
            if not consent.withdrawn and not self.live(consent):
                self.withdraw_in_model(consent, "expiry")
                self.run_stats.add("the sweep expired a consent")
        self.run_all_jobs()

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def public_paths_follow_consent(self) -> None:
        STATS["steps"] += 1
        self.client.cookies.clear()  # anonymous: no session, no bearer token
        for clip in self.deleted.values():
            urls = [f"/media/clips/{clip.id}/{name}" for name in MEDIA]
            urls += [f"/clips/{clip.id}"] if self.has_page else []
            for url in urls:
                assert self.client.get(url).status_code == 404, f"{url} of a deleted clip"
        for clip in self.clips.values():
            public = self.public(clip)
            if currently_in_test_context():
                event(f"clip {'public' if public else 'hidden'}")
            urls = [f"/media/clips/{clip.id}/{name}" for name in MEDIA]
            answers = {url: self.client.get(url) for url in urls}
            ranged = self.client.get(urls[0], headers={"Range": "bytes=0-99"})
            page = self.client.get(f"/clips/{clip.id}") if self.has_page else None
            if not public:
                for url, response in [*answers.items(), (urls[0] + " (range)", ranged)]:
                    assert response.status_code in (404, 410), (
                        f"{url} served a clip the model says is not public: "
                        f"{response.status_code}; clip={clip}; consents="
                        f"{[self.consents[c] for c in clip.consents]}; review="
                        f"{self.require_review} captions={self.require_captions}"
                    )
                if page is not None:
                    assert page.status_code == (410 if clip.withdrawn else 404), page.text[:300]
                continue
            self.run_stats.add("a clip was public")
            for url, response in answers.items():
                if url.endswith("captions.vtt") and not clip.captions:
                    assert response.status_code == 404, (url, response.status_code)
                    continue
                assert response.status_code == 200, (url, response.status_code, response.text)
                assert "no-cache" in response.headers["cache-control"]
                assert "private" not in response.headers["cache-control"]
            assert ranged.status_code == 206, ranged.status_code
            if page is not None:
                assert page.status_code == 200, page.text[:300]

    @invariant()
    def public_lists_follow_consent(self) -> None:
        """The timeline (and its search), both feeds and TimelineJS list exactly the clips
        the model says are public; oEmbed answers exactly for those public for the blog."""
        self.client.cookies.clear()
        want = sorted(c.id for c in self.clips.values() if self.public(c))

        def clip_id(url: str) -> int:
            return int(url.rsplit("/", 1)[1])

        timeline = self.client.get(f"{API}/timeline?limit=100").json()
        assert sorted(i["id"] for d in timeline["days"] for i in d["items"]) == want, timeline
        searched = self.client.get(f"{API}/timeline", params={"q": "hello", "limit": 100}).json()
        found = sorted(i["id"] for d in searched["days"] for i in d["items"])
        assert set(found) <= set(want), "search shows only public clips"
        feed = self.client.get(f"/festivals/{SLUG}/interviews.json").json()
        assert sorted(clip_id(i["id"]) for i in feed["items"]) == want, feed
        atom = self.client.get(f"/festivals/{SLUG}/interviews.atom").text
        assert sorted(int(n) for n in re.findall(r"<id>[^<]*/clips/(\d+)</id>", atom)) == want
        story = self.client.get(f"/festivals/{SLUG}/timeline.timelinejs.json").json()
        events = story.get("events", [])
        assert sorted(int(e["unique_id"].removeprefix("clip-")) for e in events) == want
        for clip in [*self.clips.values(), *self.deleted.values()]:
            blog = clip in self.clips.values() and clip.published and self.publishable(clip, "blog")
            answer = self.client.get(
                "/oembed", params={"url": f"{BASE}/clips/{clip.id}", "format": "json"}
            )
            assert answer.status_code == (200 if blog else 404), (clip, answer.text[:200])
            if blog:
                self.run_stats.add("a clip was embeddable")

    @invariant()
    def review_queue_agrees(self) -> None:
        """Staff see the same thing: a clip has no blockers exactly when the model says
        nothing but publishing stands between it and the public."""
        queue = self.send("GET", f"{API}/review-queue", 200, self.staff).json()
        assert sorted(item["clip_id"] for item in queue) == sorted(self.clips)
        for item in queue:
            clip = self.clips[item["clip_id"]]
            assert (item["blockers"] == []) == self.publishable(clip), (item, clip)
            assert item["published"] == clip.published, (item, clip)
            assert item["withdrawn"] == clip.withdrawn, (item, clip)
            assert sorted(c["id"] for c in item["consents"]) == sorted(clip.consents), item

    def audit_events(self) -> list[dict[str, Any]]:
        response = self.send("GET", f"{API}/audit", 200, self.staff)
        events: list[dict[str, Any]] = response.json()
        assert len(events) < 500, "the audit log is paged at 500; keep runs shorter"
        return events

    @invariant()
    def audit_log_is_complete(self) -> None:
        events = self.audit_events()
        by_id = {e["id"]: json.dumps(e, sort_keys=True) for e in events}
        # Append-only: nothing earlier vanished or changed.
        assert len(by_id) >= len(self.seen_events)
        for event_id, text in self.seen_events.items():
            assert by_id.get(event_id) == text, f"audit event {event_id} changed or vanished"
        self.seen_events = by_id
        actual: Counter[Key] = Counter()
        for e in events:
            action = e["action"]
            blob = json.dumps(e)
            for value in self.personal:
                assert value not in blob, f"personal data {value!r} in the audit log: {blob}"
            if action == "media-deleted":
                assert any(c.withdrawn for c in self.incarnations[e["clip_id"]]), e
                continue
            if action not in MODELLED:
                continue  # other events (mail sent, say): append-only and personal-free
            if action == "clip-taken-down":
                # Which of the clip's withdrawn consents took it down is the server's
                # order; it must be one of them.
                assert any(
                    e["consent_id"] in c.consents and self.consents[e["consent_id"]].withdrawn
                    for c in self.incarnations[e["clip_id"]]
                ), e
                actual[(action, e["clip_id"], None, None)] += 1
                continue
            extra = e["detail"].get("by") if action.startswith("consent-") else None
            if action in ("consent-given", "consent-linked", "consent-changed"):
                extra = None
            actual[(action, e["clip_id"], e["consent_id"], extra)] += 1
        missing = self.expected - actual
        unexpected = actual - self.expected
        assert not missing and not unexpected, f"missing {missing}; unexpected {unexpected}"


# --- the tests ---------------------------------------------------------------------------


@pytest.fixture
def machine(seed: Seed, databases: Databases) -> Iterator[ConsentMachine]:
    ConsentMachine.seed = seed
    ConsentMachine.databases = databases
    made = ConsentMachine()
    try:
        yield made
    finally:
        made.teardown()


def check(machine: ConsentMachine) -> None:
    machine.public_paths_follow_consent()
    machine.audit_log_is_complete()


def test_publish_then_withdraw_takes_every_surface_down(machine: ConsentMachine) -> None:
    """A scripted run of the machine's own steps, so the surfaces are seen to work: a clip
    is public once everything holds, and gone (410) the moment its interviewee withdraws."""
    m = machine
    check(m)
    consent = m.record("ada", None, {"timeline", "blog"}, "name", 30)
    assert consent is not None
    clip = m.upload_as("ada", consent)
    assert clip is not None
    check(m)
    assert not m.publishable(clip)  # not ready, not approved, no captions
    m.do_publish(clip)
    m.run_all_jobs()
    m.do_approve(consent)
    assert not m.publishable(clip)  # still no captions
    m.do_publish(clip)
    m.send("PUT", f"/api/v1/clips/{clip.id}/captions", 200, m.volunteers["ada"], content=SRT)
    clip.captions = True
    assert m.publishable(clip)
    m.do_publish(clip)
    assert m.public(clip)
    check(m)
    video = m.client.get(f"/media/clips/{clip.id}/web.mp4")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    m.send("POST", f"/api/v1/consent/{consent.token}/withdraw", 200)
    m.withdraw_in_model(consent, "interviewee")
    for name in MEDIA:
        assert m.client.get(f"/media/clips/{clip.id}/{name}").status_code == 410
    check(m)
    m.run_all_jobs()
    check(m)
    actions = [e["action"] for e in reversed(m.audit_events())]
    assert actions[:2] == ["consent-given", "consent-linked"]
    assert actions[-3:] == ["consent-withdrawn", "clip-taken-down", "media-deleted"]


def test_an_expired_consent_hides_the_clip_at_once_and_the_sweep_takes_it_down(
    machine: ConsentMachine,
) -> None:
    m = machine
    m.set_rules(review=False, captions=False)
    consent = m.record("bo", None, {"timeline"}, "anonymous", None)
    assert consent is not None
    clip = m.upload_as("bo", consent)
    assert clip is not None
    m.run_all_jobs()
    m.do_publish(clip)
    check(m)
    assert m.public(clip)
    m.expire(consent)
    assert not m.public(clip)
    check(m)  # hidden before the sweep runs: the gate reads the date itself
    m.sweep()
    assert clip.withdrawn
    check(m)


def test_no_public_path_serves_a_clip_its_consent_does_not_allow(
    seed: Seed, databases: Databases
) -> None:
    """The property of issue 5: under any sequence of uploads, consents, approvals, scope
    changes, publications, withdrawals, expiries and staff actions, the public paths serve
    a clip exactly when its consent allows it, and the audit log stays complete."""
    ConsentMachine.seed = seed
    ConsentMachine.databases = databases
    STATS.clear()
    run_state_machine_as_test(
        ConsentMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            database=None,  # a shared checkout: no .hypothesis/ written; replay by blob
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The machine must have explored: publications, and withdrawals of public clips.
    assert STATS["runs"] >= 25, STATS
    for needed in ("a clip was published", "a clip was public", "an end date passed"):
        assert STATS[needed] > 0, STATS
    assert any(k.startswith("a public clip was taken down") for k in STATS), STATS
