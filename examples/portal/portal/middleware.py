"""Each signed-in person sees the portal in their own language."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from portal.roles import profile


def user_language(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Activate the signed-in person's language, else the browser's."""

    def middleware(request: HttpRequest) -> HttpResponse:
        person = profile(request)
        if person is not None and person.language:
            translation.activate(person.language)
            request.LANGUAGE_CODE = translation.get_language()
        response = get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    return middleware
