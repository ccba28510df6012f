"""Running the roles: process wiring, the supervisor, the embedded Redis, the shared runtime and logs; may import any of `workers` and `ingest`."""
