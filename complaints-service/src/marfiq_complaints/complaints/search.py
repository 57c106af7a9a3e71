"""Full-text search over subject and description, Arabic and French, without extensions.

The database indexes a generated `tsvector` (see `SEARCH_VECTOR`) over a folded text: lower
case; French accents dropped; Arabic hamza forms, alef maqsura and ta marbuta unified,
harakat and tatweel removed; the article and the particles glued to it ("ال", "وال",
"بال", "لل" …) stripped. It uses the 'simple' configuration: no stemming and no stop words,
since one configuration per language would need to know each text's language and Postgres
has none for Arabic. Queries get the same folding here, and every word must start a word
of the document (prefix match), which covers most French plurals and Arabic suffixes.
Only immutable built-ins are used, so the same migration runs on the embedded Postgres.
"""

from __future__ import annotations

import re

_SAME = {
    "a": "àâäáãæÀÂÄÁÃÆ",
    "c": "çÇ",
    "e": "éèêëÉÈÊË",
    "i": "íìîïÍÌÎÏ",
    "n": "ñÑ",
    "o": "óòôöõœÓÒÔÖÕŒ",
    "u": "úùûüÚÙÛÜ",
    "y": "ýÿÝŸ",
    "ا": "أإآٱ",
    "ي": "ى",
    "ه": "ة",
}
# Harakat (fathatan … sukun) and tatweel: dropped.
_DROPPED = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640"
FOLD_FROM = "".join(chars for chars in _SAME.values()) + _DROPPED
FOLD_TO = "".join(plain * len(chars) for plain, chars in _SAME.items())
_TABLE = str.maketrans(FOLD_FROM[: len(FOLD_TO)], FOLD_TO, _DROPPED)

ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_ARABIC_LETTERS = "ء-ي"  # U+0621..U+064A, once harakat and tatweel are gone
_PREFIX = re.compile(rf"^(?:{'|'.join(ARABIC_PREFIXES)})(?=[{_ARABIC_LETTERS}]{{2,}}$)")
_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 8

SEARCH_VECTOR = (
    "to_tsvector('simple'::regconfig, regexp_replace("
    f"translate(lower(subject || ' ' || description), '{FOLD_FROM}', '{FOLD_TO}'), "
    f"'(^|[^{_ARABIC_LETTERS}])({'|'.join(ARABIC_PREFIXES)})([{_ARABIC_LETTERS}]{{2,}})', "
    "'\\1\\3', 'g'))"
)


def fold(text: str) -> str:
    """The text as the index sees it, before the article is stripped."""
    return text.lower().translate(_TABLE)


def query_terms(query: str) -> list[str]:
    """The folded words of a query, article stripped, at most MAX_QUERY_WORDS."""
    return [_PREFIX.sub("", word) for word in _WORD.findall(fold(query))][:MAX_QUERY_WORDS]


def to_tsquery_text(query: str) -> str | None:
    """A `to_tsquery('simple', …)` text where every word is a prefix that must match; None
    when the query has no word. Words are letters and digits only: no operator gets in."""
    terms = query_terms(query)
    if not terms:
        return None
    return " & ".join(f"{term}:*" for term in terms)
