"""The API's fast path: job submissions and status polls served from the event loop on
PostgreSQL, batched into shared transactions and reads. See README.md in this folder."""
