"""Random plates in the real national formats of NL, BE, DE, FR and LU (display form, with separators).

Pattern letters: `@` a letter of the country's series alphabet, `#` a digit.
"""

from __future__ import annotations

import random

# NL series leave out vowels (and C, Q, W, M in most series) to avoid words.
NL_LETTERS = "BDFGHJKLNPRSTVXZ"
NL_SIDECODES = (
    "##-@@-##",
    "##-@@@-#",
    "#-@@@-##",
    "@@-###-@",
    "@-###-@@",
    "@@@-##-@",
    "@@-##-@@",
    "@@-@@-##",
)
BE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
BE_FORMATS = ("1-@@@-###", "2-@@@-###", "@@@-###")
FR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # no I, O, U
DE_LETTERS = "ABCDEFGHIJKLMNOPRSTUVWXYZ"
# District codes near the border, and a few with umlauts that cameras must handle.
DE_DISTRICTS = ("AC", "DN", "HS", "VIE", "KR", "MG", "NE", "K", "D", "KLE", "BOR", "DÜW", "MÜ", "LÖ", "FÜ")
LU_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

COUNTRIES = ("NL", "BE", "DE", "FR", "LU")


def _fill(rng: random.Random, pattern: str, letters: str) -> str:
    return "".join(rng.choice(letters) if ch == "@" else str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


def random_plate(country: str, rng: random.Random) -> str:
    """A plate of `country` as printed on the vehicle."""
    if country == "NL":
        return _fill(rng, rng.choice(NL_SIDECODES), NL_LETTERS)
    if country == "BE":
        return _fill(rng, rng.choice(BE_FORMATS), BE_LETTERS)
    if country == "FR":
        return _fill(rng, "@@-###-@@", FR_LETTERS)
    if country == "DE":
        district = rng.choice(DE_DISTRICTS)
        letters = _fill(rng, "@" * rng.choice((1, 2)), DE_LETTERS)
        n_digits = rng.choices((1, 2, 3, 4), weights=(0.05, 0.15, 0.4, 0.4))[0]
        digits = str(rng.randrange(10 ** (n_digits - 1), 10**n_digits))
        suffix = "E" if rng.random() < 0.02 else ""
        return f"{district}-{letters} {digits}{suffix}"
    if country == "LU":
        return _fill(rng, "@@ ####", LU_LETTERS) if rng.random() < 0.9 else _fill(rng, "####", "")
    raise ValueError(f"no plate format for country {country!r}; known: {', '.join(COUNTRIES)}")
