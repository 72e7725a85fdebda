from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "keel.health"
    label = "keel_health"
    verbose_name = "Keel health checks"

    def ready(self) -> None:
        from keel.health import checks  # noqa: F401  (registers system checks)
