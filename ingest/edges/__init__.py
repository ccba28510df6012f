"""The edges: the SMTP listener and the webhook app; they hand bytes to `ingest.intake` and may import any of `ingest`, never `workers`."""
