"""Request guards that run before any view."""

from django.conf import settings
from django.utils.translation import gettext as _

from config.errors import error_json


class ApiBodySizeLimitMiddleware:
    """Refuse an oversize API body with 413 before anything reads it.

    Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when ``request.body`` is read; DRF's JSON
    parser reads the stream instead, so without this a 100 MB body would be parsed in memory.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_json("invalid", _("Content-Length is not a number."))
            if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                return error_json("too_large")
        return self.get_response(request)
