"""The escalation policy: the policy file, the business calendar, the guidance (GTI deadline, phone lines, page time) and the account's contract applied; imports `ingest` only."""
