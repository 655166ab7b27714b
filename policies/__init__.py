"""The rule pack: one YAML file per mail-flow scenario (shipped as ``pytest_mailflow.policies``)."""
