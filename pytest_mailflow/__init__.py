"""pytest-mailflow: test an organisation's e-mail mail flow against a written policy.

The engine (policy loading, DNS sources, evidence gathering, rules) works without pytest;
``pytest_mailflow.plugin`` is the thin pytest layer on top.
"""

__version__ = "0.1.0"
