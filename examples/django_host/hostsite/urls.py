"""The example host's URLs: all of them are the ``firm`` app's."""

from django.urls import include, path

urlpatterns = [path("", include("firm.urls"))]
