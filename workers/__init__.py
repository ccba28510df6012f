"""Everything after the queue: broker, actors, ticket store, escalation, rendering, outgoing mail."""
