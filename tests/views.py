import time

from django.http import HttpRequest, JsonResponse


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("secret detail that must not reach the client")


def slow(request: HttpRequest) -> JsonResponse:
    seconds = min(float(request.GET.get("seconds", "1")), 10.0)
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})
