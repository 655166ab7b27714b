"""SPF (RFC 7208): record parsing, the lookup tree, and evaluation for given sender IPs."""
