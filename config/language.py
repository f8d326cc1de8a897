"""The request's language, for every page and API answer, at a fraction of LocaleMiddleware's cost.

Django's LocaleMiddleware also serves ``i18n_patterns`` (a language prefix in the URL): it tries the
path against the languages twice per request, and that was most of its cost (measured on the purchase
path, docs/performance.md). The project has no language prefixes, so this keeps the rest of what it
does: the visitor's choice (the ``set_language`` cookie), else ``Accept-Language``, else
LANGUAGE_CODE; the language activated for the request; ``Content-Language`` and
``Vary: Accept-Language`` on the answer.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.cache import patch_vary_headers


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = translation.get_language_from_request(request)  # cookie, Accept-Language, LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response
