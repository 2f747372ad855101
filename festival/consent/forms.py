"""The consent form on the volunteer's phone, read into the API's :class:`ConsentIn`.

The person being filmed fills this in themselves, so every mistake is named in their own
words, all at once, beside its field. Values a browser cannot send from our page (a scope
or a choice we never offered, a missing form version) mean the request was not made by
the page: those are refused with 400 rather than explained as a mistake.

The page asks for the time into the film as minutes and seconds ("1:30"); the API keeps
seconds. Errors the service raises about ``spoken_at_seconds`` are shown beside the
page's own box, ``spoken_at``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import msgspec

from festival.consent.schemas import CREDITS, EASY_SCOPES, LICENCES, SCOPES, ConsentIn
from festival.consent.service import Form
from festival.errors import BadRequest, FestivalError, FieldError, Invalid
from festival.forms import convert

VARIANTS = ("easy-read", "plain")

#: Field names as the page labels them, for the error summary.
LABELS = {
    "scopes": "Where the film can be shown",
    "credit": "How we name you",
    "interviewee_name": "Your name",
    "display_name": "The name you choose",
    "licence": "Who may use the film",
    "expires_on": "End date",
    "contact_email": "Your email address",
    "contact_phone": "Your mobile phone number",
    "method": "How you say yes",
    "spoken_at": "Where in the film you say yes",
    "festival": "Festival",
}
#: A group of choices is reached through its first control.
ANCHORS = {
    "scopes": "scopes-" + next(iter(SCOPES)),
    "credit": "credit-" + next(iter(CREDITS)),
    "licence": "licence-" + next(iter(LICENCES)),
    "method": "method-ticked",
}
#: What the page shows before anything is chosen (licence and method have safe defaults;
#: where the film goes and how the person is named they choose themselves).
DEFAULTS: dict[str, Any] = {"scopes": [], "licence": "all-rights-reserved", "method": "ticked"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^[0-9+() \-]*$")
_CLOCK = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})$")
_LONGEST = 6 * 3600  # the API's limit for a time into the clip

#: The service's words (meant for the volunteer or an API client) said to the person.
_REWORDED = {
    ("interviewee_name", "the person filmed is missing"): (
        "interviewee_name",
        "Write your name, or choose “Do not name me”",
    ),
    ("interviewee_name", "is needed to credit them by name"): (
        "interviewee_name",
        "Write your name, or choose another way to be named",
    ),
    ("display_name", "is needed to credit them by a chosen name"): (
        "display_name",
        "Write the name you want us to use, or choose another way to be named",
    ),
    ("expires_on", "must be in the future"): (
        "expires_on",
        "The end date must be after today. Leave it empty if your permission does not end",
    ),
    ("spoken_at_seconds", "is needed when consent was spoken on camera"): (
        "spoken_at",
        "Write where in the film you say yes, like 1:30",
    ),
}


def seconds_of(text: str) -> float | None:
    """``"1:30"`` (or ``"1:02:03"``) as seconds; None if it is not such a time."""
    match = _CLOCK.match(text.strip().replace(".", ":"))
    if not match:
        return None
    hours, minutes, seconds = int(match.group(1) or 0), int(match.group(2)), int(match.group(3))
    if seconds > 59 or (match.group(1) and minutes > 59):
        return None
    return float(hours * 3600 + minutes * 60 + seconds)


def _invalid(errors: list[FieldError]) -> Invalid:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Invalid(detail, fix="Correct the answers marked and send the form again.", errors=errors)


def _choice(values: Mapping[str, Any], name: str, allowed: Collection[str]) -> str:
    """A radio button's value: "" when none was chosen, 400 when it is not one we offer."""
    value = str(values.get(name) or "")
    if value and value not in allowed:
        raise BadRequest.field(name, f"there is no choice {value!r}")
    return value


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def form_version(values: Mapping[str, Any]) -> int:
    text = str(values.get("form_version") or "")
    if not text.isdigit() or len(text) > 6 or int(text) < 1:
        raise BadRequest.field(
            "form_version",
            "is missing",
            fix="Open the consent form again: it says which version was shown.",
        )
    return int(text)


def form_variant(values: Mapping[str, Any]) -> str:
    variant = str(values.get("form_variant") or "")
    if variant not in VARIANTS:
        raise BadRequest.field("form_variant", "must be easy-read or plain")
    return variant


def consent_in(values: Mapping[str, Any], today: date) -> ConsentIn:
    """The posted form as :class:`ConsentIn`. ``values["scopes"]`` is the list of ticked
    boxes; ``today`` is the day an end date must come after."""
    version = form_version(values)
    variant = form_variant(values)
    scopes: list[str] = []
    for scope in values.get("scopes") or []:
        if scope not in SCOPES:
            raise BadRequest.field("scopes", f"there is no choice {scope!r}")
        if scope not in scopes:
            scopes.append(scope)
    credit = _choice(values, "credit", CREDITS)
    licence = _choice(values, "licence", LICENCES)
    method = _choice(values, "method", ("ticked", "spoken"))
    name, chosen = _text(values, "interviewee_name"), _text(values, "display_name")
    email, phone = _text(values, "contact_email"), _text(values, "contact_phone")

    errors: list[FieldError] = []
    if not credit:
        errors.append(FieldError("credit", "Choose how we should name you"))
    elif credit == "name" and not name:
        errors.append(
            FieldError("interviewee_name", "Write your name, or choose another way to be named")
        )
    elif credit == "chosen" and not chosen:
        errors.append(
            FieldError(
                "display_name",
                "Write the name you want us to use, or choose another way to be named",
            )
        )
    if not licence:
        errors.append(FieldError("licence", "Choose who may use the film"))
    expires: date | None = None
    if text := _text(values, "expires_on"):
        try:
            expires = date.fromisoformat(text)
        except ValueError:
            errors.append(FieldError("expires_on", "Enter a real date, like 31 12 2030"))
        else:
            if expires <= today:
                errors.append(FieldError(*_REWORDED[("expires_on", "must be in the future")]))
    if email and not _EMAIL.match(email):
        errors.append(FieldError("contact_email", "Enter an email address like name@example.org"))
    if not _PHONE.match(phone):
        errors.append(
            FieldError(
                "contact_phone",
                "Enter a phone number using only numbers, spaces, +, brackets and hyphens",
            )
        )
    spoken_at: float | None = None
    if not method:
        errors.append(FieldError("method", "Choose how you say yes"))
    elif method == "spoken":
        text = _text(values, "spoken_at")
        spoken_at = seconds_of(text) if text else None
        if not text:
            errors.append(FieldError("spoken_at", "Write where in the film you say yes, like 1:30"))
        elif spoken_at is None or spoken_at > _LONGEST:
            errors.append(
                FieldError(
                    "spoken_at",
                    "Write the time as minutes and seconds, like 1:30, or hours, minutes "
                    "and seconds, like 1:02:30",
                )
            )
    if errors:
        raise _invalid(errors)
    given = {
        "interviewee_name": name,
        "display_name": chosen,
        "contact_email": email,
        "contact_phone": phone,
    }
    return convert(
        {
            "form_version": version,
            "form_variant": variant,
            "scopes": scopes,
            "credit": credit,
            "licence": licence,
            # A box left empty is not sent: the Struct's default ("") applies, which the
            # email type (an address, or exactly that default) needs.
            **{k: v for k, v in given.items() if v},
            "expires_on": expires,
            "method": method,
            "spoken_at_seconds": spoken_at,
        },
        ConsentIn,
    )


def for_form(error: FestivalError) -> FestivalError:
    """A refusal from the service, its field messages in the words the page uses."""
    if not error.errors:
        return error
    errors = [
        FieldError(*_REWORDED.get((e.field, e.message), (e.field, e.message))) for e in error.errors
    ]
    if errors == error.errors:
        return error
    summarised = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    detail = error.detail
    if detail == summarised:  # only the field messages: keep them in step
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return type(error)(
        detail,
        fix=error.fix,
        errors=errors,
        conflicts_with=error.conflicts_with,
        headers=error.headers,
    )


def typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """What was chosen and typed, to show again when the form comes back with errors."""
    shown: dict[str, Any] = {
        k: str(v) for k, v in values.items() if k not in ("_csrf_token", "scopes")
    }
    shown["scopes"] = [str(s) for s in values.get("scopes") or []]
    return shown


def plain_parts(shown: Form) -> tuple[str, list[str]]:
    """The plain-language text as a title and paragraphs (blank lines part them; the lines
    inside a paragraph are only wrapped for the file)."""
    paragraphs = [" ".join(p.split()) for p in shown.plain.strip().split("\n\n") if p.strip()]
    if paragraphs and "\n" not in shown.plain.strip().split("\n\n")[0].strip():
        first = paragraphs[0]
        if not first.endswith((".", "!", "?", ":")):
            return first, paragraphs[1:]
    return "", paragraphs


Option = tuple[str, str, str | None]  # value, label, hint


class Words(msgspec.Struct, frozen=True):
    """The choices in one wording of the form: easy read or plain language."""

    scopes: list[Option]
    credits: list[Option]
    licences: list[Option]
    methods: list[Option]


_CC = "A Creative Commons licence ({})."
WORDS = {
    "easy-read": Words(
        scopes=[(k, v, None) for k, v in EASY_SCOPES.items()],
        credits=[(k, v, None) for k, v in CREDITS.items()],
        licences=[
            (
                "all-rights-reserved",
                "The film stays yours",
                "Only the festival may use it, and only in the places you ticked.",
            ),
            (
                "CC-BY-4.0",
                "Anyone may share it and change it, if they name you",
                _CC.format("CC BY 4.0") + " They may also use it to make money.",
            ),
            (
                "CC-BY-NC-4.0",
                "Anyone may share it and change it, but not to make money",
                _CC.format("CC BY-NC 4.0") + " They must name you.",
            ),
            (
                "CC-BY-NC-ND-4.0",
                "Anyone may share it, but not change it or make money from it",
                _CC.format("CC BY-NC-ND 4.0") + " They must name you.",
            ),
        ],
        methods=[
            ("ticked", "I say yes here, on this phone", None),
            ("spoken", "I said yes on camera, in the film", None),
        ],
    ),
    "plain": Words(
        scopes=[(k, v, None) for k, v in SCOPES.items()],
        credits=[(k, v, None) for k, v in CREDITS.items()],
        licences=[
            ("all-rights-reserved", LICENCES["all-rights-reserved"], None),
            (
                "CC-BY-4.0",
                LICENCES["CC-BY-4.0"],
                "Anyone may share and adapt the film for any purpose, including commercial "
                "ones, as long as they credit you as you chose above.",
            ),
            (
                "CC-BY-NC-4.0",
                LICENCES["CC-BY-NC-4.0"],
                "Anyone may share and adapt the film, but not for commercial purposes, "
                "crediting you as you chose above.",
            ),
            (
                "CC-BY-NC-ND-4.0",
                LICENCES["CC-BY-NC-ND-4.0"],
                "Anyone may share the film unchanged, but not for commercial purposes, "
                "crediting you as you chose above.",
            ),
        ],
        methods=[
            ("ticked", "By ticking these choices on this phone", None),
            ("spoken", "Out loud, on camera, in the interview itself", None),
        ],
    ),
}
