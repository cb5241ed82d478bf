"""Where the LLM lives: the endpoint, model, key, timeouts and retries of one configuration."""

from __future__ import annotations

from dataclasses import dataclass

ChatMessage = dict[str, str]

DEFAULT_MODEL = "gpt-4o-mini"
# The SDK refuses to build a client without a key; local servers (vLLM, Ollama, our test
# server) ignore it, so an unset key becomes this placeholder rather than an error.
PLACEHOLDER_API_KEY = "not-needed"
# Rough size of a token in English text, for usage estimates when the server reports none.
CHARS_PER_TOKEN = 4
# Per-message overhead of the chat format (role markers), in tokens.
TOKENS_PER_MESSAGE = 4


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call the model. One per tenant (later) or one from settings.

    ``max_retries`` counts retries after the first try; ``backoff_s`` is the first backoff step
    (doubled each retry, with jitter); ``max_retry_wait_s`` caps any single wait, including a
    server's Retry-After: a longer Retry-After is not waited out (a rep won't sit through it).
    """

    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 20.0
    max_retries: int = 2
    backoff_s: float = 0.5
    temperature: float = 0.7
    max_retry_wait_s: float = 8.0
    # False for endpoints a tenant admin typed in: then only public addresses are dialled, each
    # checked and pinned when the connection opens (see "endpoint checks" below).
    allow_private: bool = True

    def __repr__(self) -> str:
        # Never print the key into logs or tracebacks.
        return (
            f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, api_key={'***' if self.api_key else ''!r}, "
            f"timeout_s={self.timeout_s}, max_retries={self.max_retries}, backoff_s={self.backoff_s}, "
            f"temperature={self.temperature}, max_retry_wait_s={self.max_retry_wait_s})"
        )


def default_llm_config() -> LLMConfig | None:
    """The deployment-wide endpoint from settings (LLM_BASE_URL, LLM_MODEL, LLM_API_KEY, LLM_TIMEOUT_S,
    LLM_MAX_RETRIES, LLM_TEMPERATURE); None when no base URL is configured."""
    from django.conf import settings

    base_url = (getattr(settings, "LLM_BASE_URL", "") or "").strip()
    if not base_url:
        return None
    return LLMConfig(
        base_url=base_url,
        model=(getattr(settings, "LLM_MODEL", "") or DEFAULT_MODEL).strip(),
        api_key=getattr(settings, "LLM_API_KEY", "") or "",
        timeout_s=float(getattr(settings, "LLM_TIMEOUT_S", 20.0)),
        max_retries=int(getattr(settings, "LLM_MAX_RETRIES", 2)),
        temperature=float(getattr(settings, "LLM_TEMPERATURE", 0.7)),
    )
