"""Real model providers, chosen by environment only.

An agent names its model as ``<provider>:<model>``; credentials and endpoints come from
the environment the container gets, never from code:

- ``openai:<model>``: any OpenAI-compatible chat-completions endpoint,
  ``OPENAI_BASE_URL`` (default api.openai.com) and ``OPENAI_API_KEY``;
- ``anthropic:<model>``: ``ANTHROPIC_API_KEY``, and ``ANTHROPIC_BASE_URL`` for a proxy
  or gateway (default api.anthropic.com);
- ``bedrock:<model>``: Amazon Bedrock's Converse API through the standard AWS credential
  chain, which on ECS is the task role (no key), in ``AWS_REGION``;
  ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (the SDK's own variable) for a VPC endpoint;
- ``scripted:<module.function>``: no provider at all, a pydantic-ai ``FunctionModel``
  streaming what the function yields (offline demos and tests; keel.agents.demo).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from keel.conf import Env, env

PROVIDERS = ("openai", "anthropic", "bedrock", "scripted")


def model_from_environment(spec: str, environ: Env = env) -> Any:
    """Build the pydantic-ai model named by ``spec`` (``provider:model``)."""
    provider, _, model_name = spec.partition(":")
    if provider not in PROVIDERS or not model_name:
        raise ImproperlyConfigured(
            f"model {spec!r} must be <provider>:<model> with provider one of {', '.join(PROVIDERS)}"
        )
    if provider == "openai":
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        return OpenAIChatModel(
            model_name,
            provider=OpenAIProvider(
                base_url=environ.string("OPENAI_BASE_URL", None),
                api_key=environ.string("OPENAI_API_KEY"),
            ),
        )
    if provider == "anthropic":
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        return AnthropicModel(
            model_name,
            provider=AnthropicProvider(
                api_key=environ.string("ANTHROPIC_API_KEY"),
                base_url=environ.string("ANTHROPIC_BASE_URL", None),
            ),
        )
    if provider == "scripted":
        return _scripted(model_name)
    from pydantic_ai.models.bedrock import BedrockConverseModel
    from pydantic_ai.providers.bedrock import BedrockProvider

    # No key: boto3's default chain finds the ECS task role's credentials.
    return BedrockConverseModel(
        model_name,
        provider=BedrockProvider(
            region_name=environ.string("AWS_REGION"),
            base_url=environ.string("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None),
        ),
    )


def _scripted(path: str) -> Any:
    from pydantic_ai.models.function import FunctionModel

    try:
        function = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"scripted model {path!r} must name a stream function: {error}"
        ) from None
    return FunctionModel(stream_function=function, model_name=f"scripted:{path}")
