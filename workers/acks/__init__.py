"""Acknowledgements: template context, sandboxed rendering, the scenario check, the RFC 3834 mail, rate limits and the outbound path; imports `workers.escalation`, `workers.store` and `ingest`."""
