"""The worker: claims jobs, runs generators (isolated in child processes or inline),
heartbeats, cancels, and hands work back on shutdown."""
