"""guichet's edges (SMTP, webhook) and the pure intake steps they share."""
