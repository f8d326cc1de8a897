"""The pages' script words (Django's JavaScriptCatalog, domain ``djangojs``) at ``/jsi18n/<language>.js``.

A script file, not an inline script, so a Content-Security-Policy of ``script-src 'self'`` holds.
The language is in the URL, so each page names the catalog of the language it was rendered in
(the cached pages are cached per language) and a browser or proxy may keep it: the catalogs do not
change while a process runs, so each process builds each language's once.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.i18n import JavaScriptCatalog

MAX_AGE = 3600  # seconds a browser keeps a catalog (a deploy with new words is seen within the hour)


@require_safe
def js_catalog(request: HttpRequest, language: str) -> HttpResponse:
    if language not in dict(settings.LANGUAGES):
        raise Http404("No such language.")
    body = _catalog_for(language, request)
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")  # i18n: a media type
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response


_built: dict[str, bytes] = {}


def _catalog_for(language: str, request: HttpRequest) -> bytes:
    if language not in _built:
        with translation.override(language):
            _built[language] = JavaScriptCatalog.as_view(domain="djangojs")(request).content
    return _built[language]
