"""The durable job queue: job model, enqueue, claim, retries, maintenance duties."""
