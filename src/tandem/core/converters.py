"""The ``id`` path converter: the primary keys in page URLs (``tickets/<id:ticket_id>/``).

Django's ``int`` converter takes any run of digits, so ``/tickets/99999999999999999999/``
reached the database and overflowed it (a server error). ``id`` matches the same digits
but refuses a number above :data:`tandem.core.validation.MAX_ID`: Django then treats the
URL as matching no pattern, and the answer is the usual 404, as for an id that does not
exist. ``tests/test_bounds.py`` checks that no page URL uses ``int``.
"""

from __future__ import annotations

from tandem.core.validation import MAX_ID


class IdConverter:
    """Digits naming a row: 0 to :data:`MAX_ID` (a larger number matches no URL)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            # A ValueError tells Django's resolver that this pattern does not match.
            raise ValueError("beyond the largest id")
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))
