from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "keel.streaming"
    label = "keel_streaming"
    verbose_name = "Keel streaming"

    def ready(self) -> None:
        from keel.streaming import checks  # noqa: F401  (registers system checks)
