"""Sessions: Django's cached_db engine, plus a read that never reaches the database.

The cached pages (the sale list, the sale page) only need to know whether the visitor is logged
in. Through the normal session, a cookie the cache does not know (a random or an expired
``sessionid``) costs a DB query, so a storm of random cookies would reach the database. Those
pages read the session from the cache alone: cached_db writes every saved session there, so a
session missing from the cache is treated as logged out on those pages (and is loaded normally
by any other page).
"""

from __future__ import annotations

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore


class SessionStore(CachedDbSessionStore):
    def cached_data(self) -> dict:
        """The session's data if the cache holds it, else {}; never a database query."""
        if not self.session_key or not self._validate_session_key(self.session_key):
            return {}
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # the cache is away: the page renders as logged out
            return {}
        return data if isinstance(data, dict) else {}
