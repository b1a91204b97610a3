"""FastAPI entrypoint: REST API, problem responses, sessions, metrics."""
