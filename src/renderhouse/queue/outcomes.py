"""The outcome values belong to the plugin surface (``renderhouse.generators.outcomes``);
the queue reads them from there."""

from renderhouse.generators.outcomes import Cancel, FanOut, Outcome, Retry, Snooze, Success

__all__ = ["Cancel", "FanOut", "Outcome", "Retry", "Snooze", "Success"]
