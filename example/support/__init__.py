"""The example project's support assistant: the agent a team copies (docs/agents.md).

Declared in ``example.settings.KEEL_AGENTS``; it runs on the scripted model here
(offline) unless ``AGENT_SUPPORT_MODEL`` names a real one.
"""
