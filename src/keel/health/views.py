from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from keel.health.readiness import run_checks


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Report each readiness check; 200 when all pass, 503 otherwise."""
    results = run_checks()
    ready = all(result.ok for result in results)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {result.name: result.as_dict() for result in results},
    }
    return JsonResponse(body, status=200 if ready else 503)
