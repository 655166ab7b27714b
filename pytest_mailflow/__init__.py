"""pytest-mailflow: test an organisation's e-mail mail flow against a written policy.

The engine (policy loading, DNS sources, evidence gathering, rules) works without pytest;
``pytest_mailflow.plugin`` is the thin pytest layer on top.

PYTEST_DONT_REWRITE: the package holds no test assertions; keeping pytest's assertion rewriting off it
avoids "module already imported" warnings when pytest runs inside pytest (pytester) with an
editable install whose import finder pytest cannot see through.
"""

__version__ = "0.1.0"
