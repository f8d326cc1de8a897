"""``POST /api/auth/token {username, password}``: a REST client gets its user's API token.

Password guessing here meets the login throttle of the pages (``config.login_throttle``): every
attempt counts against the username and the client's network before the password is checked,
and past the free attempts the next one waits, growing, answered 429 ``rate_limited`` with
``Retry-After`` before any password is hashed.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.fields import StrictCharField
from config.login_throttle import attempt_admit, attempt_succeeded
from config.openapi import errors_documented


class TooManyAttempts(ApplicationError):
    code = "rate_limited"

    def __init__(self, wait_ms: int):
        super().__init__()
        self.retry_after = max(1, -(-wait_ms // 1000))


class AuthTokenApi(APIView):
    authentication_classes: list = []  # the credentials are in the body; no cookie is read (no CSRF)
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="AuthTokenInput")
    class InputSerializer(serializers.Serializer):
        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=128)

    @extend_schema_serializer(component_name="AuthToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="send as `Authorization: Token <token>`")

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer},
        auth=[],
        description="Your API token (the same one on every call until it is deleted). "
        "Attempts are limited per username and per client network: 429 with Retry-After.",
    )
    @errors_documented("rate_limited")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]
        buckets, wait_ms = attempt_admit(request._request, username)
        if wait_ms > 0:
            raise TooManyAttempts(wait_ms)
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            raise ApplicationError("Wrong username or password.", code="not_authenticated")
        attempt_succeeded(buckets)
        token, _ = Token.objects.using("default").get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)
