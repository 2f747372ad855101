"""Read HTML form posts into the same Structs the JSON API uses.

Browsers send every value as text; ``msgspec.convert(strict=False)`` turns "12" into 12
and "true" into True. A ticked checkbox sends "true"; an unticked one sends nothing, so
the boolean fields a form shows are set to False when absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from festival.errors import FieldError, Invalid

T = TypeVar("T")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def explain(error: msgspec.ValidationError) -> Invalid:
    """A msgspec validation error as :class:`Invalid` naming the field."""
    message = str(error)
    match = _AT.search(message)
    field = match.group(1) if match else "body"
    text = message[: match.start()] if match else message
    return Invalid(
        f"{field}: {text}",
        fix="Correct this value and send it again.",
        errors=[FieldError(field=field, message=text)],
    )


def convert(data: Mapping[str, Any], kind: type[T]) -> T:
    for field, value in data.items():
        if isinstance(value, str) and "\ufffd" in value:
            # A form's bytes that are not UTF-8 are read as U+FFFD; keeping them would
            # store a garbled name the person never typed.
            raise Invalid(
                f"{field}: has characters that could not be read as text",
                fix="Type this value again and send the form.",
                errors=[FieldError(field=field, message="has characters that could not be read")],
            )
    try:
        return msgspec.convert(dict(data), kind, strict=False)
    except msgspec.ValidationError as error:
        raise explain(error) from None


def form_values(
    form: Mapping[str, Any], *, checkboxes: Iterable[str] = (), optional: Iterable[str] = ()
) -> dict[str, Any]:
    """Plain dict from a form: CSRF field dropped, checkboxes made boolean, blank optional
    fields dropped so the Struct's default applies."""
    values: dict[str, Any] = {k: v for k, v in form.items() if k != "_csrf_token"}
    for name in checkboxes:
        values[name] = name in values and values[name] not in ("", "false", "0")
    for name in optional:
        if values.get(name) in ("", None):
            values.pop(name, None)
    return values
