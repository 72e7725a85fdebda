import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("secret detail that must not reach the client")


def slow(request: HttpRequest) -> JsonResponse:
    seconds = min(float(request.GET.get("seconds", "1")), 10.0)
    # Tests that signal the server mid-request wait for these marks, so they know every
    # request is inside the view (not still in the accept queue) when they signal.
    started_dir = os.environ.get("KEEL_TEST_STARTED_DIR")
    if started_dir:
        Path(started_dir, uuid.uuid4().hex).touch()
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


def secure(request: HttpRequest) -> JsonResponse:
    """Report what Django concluded about the request's scheme (proxy-trust tests)."""
    return JsonResponse(
        {"is_secure": request.is_secure(), "absolute_uri": request.build_absolute_uri()}
    )


def plain_stream(request: HttpRequest) -> StreamingHttpResponse:
    """A sync stream from a view without ``streaming_view``: served by the API's pool."""
    count = int(request.GET.get("count", "5"))
    interval = float(request.GET.get("interval", "0.4"))

    def lines() -> Iterator[bytes]:
        for index in range(count):
            if index:
                time.sleep(interval)
            yield f"{index} {time.time()}\n".encode()

    return StreamingHttpResponse(lines(), content_type="text/plain")


#: The rotated secret tests/e2e/test_rotated_secret.py declares (ROTATED_SECRETS).
PARTNER_SECRET = "PARTNER_API_KEY"


def partner_call(request: HttpRequest) -> JsonResponse:
    """Call a partner API with a rotated secret, as a project's view would."""
    import httpx

    from keel import credentials

    def charge(key: str) -> dict:
        response = httpx.get(
            os.environ["TEST_PARTNER_URL"], headers={"Authorization": f"Bearer {key}"}, timeout=5
        )
        response.raise_for_status()
        return dict(response.json())

    answer = credentials.secret(PARTNER_SECRET).call(
        charge,
        refused=lambda error: (
            isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 401
        ),
    )
    return JsonResponse(answer)
