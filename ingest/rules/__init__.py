"""The intake rules, run in a fixed order by `triage.py`: identity, urgency, category, language, suppression; imports `ingest.reading`, `ingest.model`, `ingest.directory`, `ingest.config_files`."""
