"""DMARC (RFC 7489): record parsing, policy discovery, and report-destination authorisation."""
