"""An exported Exchange Online configuration: connectors, accepted domains, DKIM signing, organisation."""
