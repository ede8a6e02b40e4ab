"""The classifier's corpus, its training, and how it is evaluated."""
