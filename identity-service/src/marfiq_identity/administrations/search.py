"""Search text: accent-, case- and Arabic-spelling-insensitive words, prefix matching.

The database gets a folded `search_document` (written by the service) and a generated
`tsvector` over it with a GIN index; no extension (pg_trgm, unaccent) is needed, so the
same migration runs on the embedded Postgres, which ships without contrib modules.
"""

from __future__ import annotations

import re
import unicodedata

# Tatweel (kashida) is a letter-like stretch, not a combining mark; drop it too.
_TATWEEL = "\u0640"
_FOLD = str.maketrans({"ى": "ي", "ة": "ه", "œ": "oe", "æ": "ae", _TATWEEL: None})
_WORD = re.compile(r"[^\W_]+")
# The article and the particles glued to it: "الماليه", "والماليه", "للتقاعد".
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
MAX_QUERY_WORDS = 8


def fold(text: str) -> str:
    """Lower case without accents; Arabic hamza forms, harakat, alef maqsura and ta marbuta
    reduced to the letters people type when they search."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.casefold().translate(_FOLD)


def _stem(word: str) -> str:
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return _WORD.findall(fold(text))


def search_document(*texts: str) -> str:
    """Every searchable form of the words of `texts`, each once."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
            seen.setdefault(_stem(word), None)
    return " ".join(seen)


def prefix_query(query: str) -> str | None:
    """A `to_tsquery('simple', …)` text: every word of `query` must start a word of the
    document. Words are alphanumeric only, so the query cannot inject operators."""
    terms = [_stem(word) for word in words(query)][:MAX_QUERY_WORDS]
    if not terms:
        return None
    return " & ".join(f"{term}:*" for term in terms)


def sort_key(name: str) -> str:
    """The folded name lists are ordered by, so "Économie" sorts among the E's."""
    return " ".join(words(name))[:300]
