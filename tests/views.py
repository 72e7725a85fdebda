import time

from django.http import HttpRequest, JsonResponse


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("secret detail that must not reach the client")


def slow(request: HttpRequest) -> JsonResponse:
    seconds = min(float(request.GET.get("seconds", "1")), 10.0)
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


def secure(request: HttpRequest) -> JsonResponse:
    """Report what Django concluded about the request's scheme (proxy-trust tests)."""
    return JsonResponse(
        {"is_secure": request.is_secure(), "absolute_uri": request.build_absolute_uri()}
    )
