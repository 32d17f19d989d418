"""Platform duties: jobs Renderhouse enqueues for itself (webhook deliveries, scheduled
backups). They are registered through the same entry-point group as generators, so they run
on the same workers with the same retries, history and alerts, but they live on the platform
side of the plugin seam: they may use the platform, and the HTTP API refuses them as kinds
(``Generator.internal``)."""
