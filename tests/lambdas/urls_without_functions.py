"""A URLconf that forgot keel.lambdas.urls."""

from example.urls import urlpatterns

__all__ = ["urlpatterns"]
