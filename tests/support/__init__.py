"""Test helpers: real services on free ports (Redis, PostgreSQL databases, SMTP sink, the stack)."""
