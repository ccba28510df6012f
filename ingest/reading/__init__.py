"""Reading a request: raw bytes to `Content` (MIME, charsets, HTML) and its text split into new words, quotes and pasted logs; imports only `ingest.model` and `ingest.config_files`."""
