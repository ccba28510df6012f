"""The webhook edge: partner systems POST signed requests that join the same intake funnel as mail; imports `ingest` only."""
