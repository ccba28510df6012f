"""The `guichet` command."""
