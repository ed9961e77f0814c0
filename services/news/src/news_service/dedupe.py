"""De-duplication: one story, however many sources carry it and however they decorate its link or title.

Two copies are the same story when their canonical URLs match, or when their normalised titles are
near-identical and they were published within a time window of each other. A merged story keeps the id
of the copy seen first (a hash of its canonical URL, so it is stable across polls), the earliest
publication time, and the union of sources, tags and symbols.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from suite_shared.messages.news import Article

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "source",
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "cmpid",
        "ncid",
        "sr_share",
        "spm",
        "s_cid",
        "guccounter",
        "amp",
        "output",
        "rss",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_", "pk_", "piwik_", "hsa_", "at_", "oly_")
DEFAULT_WINDOW_MS = 48 * 3_600_000
DEFAULT_TITLE_THRESHOLD = 0.85
ID_LENGTH = 16

# A publisher or label tacked onto the end of a headline: " - Report", " | CoinDesk", " – Decrypt".
_TITLE_SUFFIX = re.compile(r"\s+[-|–—]\s+[^-|–—]{1,30}$")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def canonical_url(url: str) -> str:
    """The URL with its decorations removed: https, lower-case host without `www.`, no default port, no
    tracking parameters, sorted query, no fragment and no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    query = urlencode(
        sorted((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(key))
    )
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme.lower()
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def article_id(canonical: str) -> str:
    """A stable id for the story first seen at this canonical URL."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_LENGTH]


def normalise_title(title: str) -> str:
    """Lower-case words only: no accents, punctuation, trailing publisher label or extra spaces."""
    text = unicodedata.normalize("NFKD", title.translate(_QUOTES))
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _TITLE_SUFFIX.sub("", text.strip()) if _TITLE_SUFFIX.search(text.strip()) else text
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower().replace("'s ", " "))).strip()


def title_similarity(first: str, second: str) -> float:
    """0…1 likeness of two normalised titles: the higher of word overlap (Jaccard) and character ratio."""
    if first == second:
        return 1.0
    words_a, words_b = set(first.split()), set(second.split())
    jaccard = len(words_a & words_b) / len(words_a | words_b) if words_a | words_b else 0.0
    return max(jaccard, SequenceMatcher(None, first, second, autojunk=False).ratio())


class Deduplicator:
    """Folds articles, in the order seen, into distinct stories; keep one across polls to keep ids stable."""

    def __init__(self, window_ms: int = DEFAULT_WINDOW_MS, threshold: float = DEFAULT_TITLE_THRESHOLD) -> None:
        self.window_ms = window_ms
        self.threshold = threshold
        self._stories: dict[str, Article] = {}  # by id, in first-seen order
        self._by_url: dict[str, str] = {}
        self._titles: dict[str, str] = {}  # id -> normalised title

    def add(self, article: Article) -> tuple[Article, bool]:
        """Merge `article` into what was seen; returns the resulting story and whether it is new."""
        match = self.find(article)
        if match is None:
            story = article.model_copy(update={"id": article_id(article.canonical_url)})
            self._remember(story, article)
            return story, True
        merged = merge(match, article)
        self._remember(merged, article)
        return merged, False

    def find(self, article: Article) -> Article | None:
        """The story `article` duplicates, if any."""
        by_url = self._by_url.get(article.canonical_url)
        if by_url is not None:
            return self._stories[by_url]
        title = normalise_title(article.title)
        for story_id, seen_title in self._titles.items():
            story = self._stories[story_id]
            if self._close_in_time(story, article) and title_similarity(title, seen_title) >= self.threshold:
                return story
        return None

    def stories(self) -> list[Article]:
        return list(self._stories.values())

    def _remember(self, story: Article, copy: Article) -> None:
        self._stories[story.id] = story
        self._by_url.setdefault(story.canonical_url, story.id)
        self._by_url.setdefault(copy.canonical_url, story.id)
        self._titles.setdefault(story.id, normalise_title(story.title))

    def _close_in_time(self, first: Article, second: Article) -> bool:
        if first.published_ms is None or second.published_ms is None:
            return True
        return abs(first.published_ms - second.published_ms) <= self.window_ms


def merge(story: Article, copy: Article) -> Article:
    """`story` enriched by a duplicate `copy`: earliest time, unions of sources, tags and symbols, and any
    field the story lacks taken from the copy. The story's id, title, url and scores win."""
    times = [time for time in (story.published_at, copy.published_at) if time is not None]
    return story.model_copy(
        update={
            "published_at": min(times) if times else None,
            "ingested_at": min(story.ingested_at, copy.ingested_at),
            "sources": _union(story.sources, copy.sources),
            "aliases": _union(
                story.aliases, [url for url in (copy.canonical_url, *copy.aliases) if url != story.canonical_url]
            ),
            "tags": _union(story.tags, copy.tags),
            "related_symbols": _union(story.related_symbols, copy.related_symbols),
            "summary": story.summary or copy.summary,
            "image_url": story.image_url or copy.image_url,
        }
    )


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def dedupe(
    articles: Iterable[Article], window_ms: int = DEFAULT_WINDOW_MS, threshold: float = DEFAULT_TITLE_THRESHOLD
) -> list[Article]:
    """Distinct stories among `articles`, in first-seen order."""
    folder = Deduplicator(window_ms, threshold)
    for article in articles:
        folder.add(article)
    return folder.stories()
