"""Real implementations of the service seams: database, providers, hashing, rate limits."""
