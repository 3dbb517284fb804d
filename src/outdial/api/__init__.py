"""The REST API (VoIPBIN-compatible, under /v1.0): app factory, routes, schemas, errors."""
