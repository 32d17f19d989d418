"""The render generator's AI path: our deterministic render goes to an image model for
refinement, and what comes back is checked for product preservation before it is used
(``refine``). The protocol clients live in ``renderhouse.providers.images``, shared with the
pose generator."""
