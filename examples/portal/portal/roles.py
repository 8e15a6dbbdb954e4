"""Who is signed in: a firm member, a client user, or nobody."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from portal.models import ClientUser, Staff

View = Callable[..., HttpResponse]


def username(request: HttpRequest) -> str:
    """The signed-in person's user name (their id in approvalflow's directory)."""
    return str(request.user.get_username())


def staff_of(request: HttpRequest) -> Staff | None:
    """The signed-in firm member, if it is one."""
    user = request.user
    if not user.is_authenticated:
        return None
    return Staff.objects.filter(user_id=user.pk).first()


def client_of(request: HttpRequest) -> ClientUser | None:
    """The signed-in client user, if it is one."""
    user = request.user
    if not user.is_authenticated:
        return None
    return ClientUser.objects.filter(user_id=user.pk).first()


def profile(request: HttpRequest) -> Staff | ClientUser | None:
    """The signed-in person, firm member or client user."""
    return staff_of(request) or client_of(request)


def _requires(found: Callable[[HttpRequest], object]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if found(request) is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


#: Only firm members reach the view (others: sign in, or 403).
staff_required = _requires(staff_of)
#: Only client users reach the view (others: sign in, or 403).
client_required = _requires(client_of)
