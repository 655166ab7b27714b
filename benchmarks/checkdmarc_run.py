"""checkdmarc on the benchmark's domains, through the same DNS server: ``python -m benchmarks.checkdmarc_run
PORT DOMAINS_FILE``.

checkdmarc checks domains one after the other. It is run as its users run it against a resolver (its
STARTTLS probe of MX hosts is opt-in and stays off), with one change that keeps it inside this machine:
no download of MTA-STS policy files (pytest-mailflow fetches them only with ``--mailflow-fetch-mta-sts``,
which the benchmark does not use either). Its caches stay on, as they are for its users.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    port, domains_file = int(argv[0]), Path(argv[1])
    import checkdmarc
    import checkdmarc.mta_sts
    import dns.nameserver

    def no_download(*args: object, **kwargs: object) -> str:
        raise checkdmarc.mta_sts.MTASTSPolicyDownloadError("not fetched in the benchmark")

    checkdmarc.mta_sts.download_mta_sts_policy = no_download
    domains = domains_file.read_text(encoding="utf-8").split()
    nameserver = dns.nameserver.Do53Nameserver("127.0.0.1", port)
    results = checkdmarc.check_domains(domains, nameservers=[nameserver], timeout=2.0)
    checked = results if isinstance(results, list) else [results]
    sys.stdout.write(f"checkdmarc checked {len(checked)} domains\n")
    return 0 if len(checked) == len(domains) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
