"""The model registry: named LLM models over provider deployments, with fallbacks, a
circuit breaker and live health per deployment, and the money side of every call."""
