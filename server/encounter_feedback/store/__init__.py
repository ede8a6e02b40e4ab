"""Where events live and who hears them: the SQLite store (the source of truth) and the live fan-out hub."""
