"""Policy files: loading with line numbers, schema validation, the typed model, scenario expansion."""

from .load import is_policy_text, load_policy, load_policy_text
from .model import DomainPolicy, Policy

__all__ = ["DomainPolicy", "Policy", "is_policy_text", "load_policy", "load_policy_text"]
