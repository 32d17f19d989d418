"""The AI path's image providers: our deterministic render goes to an image model for
refinement, and what comes back is checked for product preservation before it is used.
One module per protocol (``openai_images``, ``gemini_images``); ``base`` holds the result,
errors and prices they share."""
