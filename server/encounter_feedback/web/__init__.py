"""The HTTP API, the WebSocket event stream and the dashboard files: one FastAPI app on uvicorn."""
