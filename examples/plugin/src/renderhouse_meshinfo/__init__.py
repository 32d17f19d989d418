"""An example Renderhouse generator plugin (``docs/plugins.md`` walks through it)."""
