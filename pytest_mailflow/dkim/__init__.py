"""DKIM (RFC 6376, RFC 8301, RFC 8463): key records published at ``<selector>._domainkey.<domain>``."""
