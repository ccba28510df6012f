"""The /admin console of the web app: sign-in, template editor with live preview, versions and audit, ticket pages; imports `workers.acks`, `workers.store` and `workers.explaining`."""
