"""The test settings plus the example's support agent once per provider path.

``support-openai``, ``support-anthropic`` and ``support-bedrock`` are the example
project's ``support`` declaration unchanged; the process-level provider tests
(tests/e2e/test_agent_providers.py) put each on its provider with
``AGENT_SUPPORT_<PROVIDER>_MODEL``, exactly as a team would in production.
"""

from tests.settings import *  # noqa: F403
from tests.settings import KEEL_AGENTS as TEST_AGENTS

KEEL_AGENTS = {
    **TEST_AGENTS,
    **{
        f"support-{provider}": TEST_AGENTS["support"]
        for provider in ("openai", "anthropic", "bedrock")
    },
}
