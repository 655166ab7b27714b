"""Loading a tenant export (JSON written by examples/Export-MailflowTenant.ps1)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputFileError, Problem
from .model import TenantExport


class TenantExportError(InputFileError):
    """The tenant export cannot be used; carries every problem found, with path:line."""


def load_tenant_export(path: Path, display: str) -> TenantExport:
    """Read and normalise a tenant export. (Filled in by the tenant-export loader.)"""
    if not path.is_file():
        raise TenantExportError([Problem(display, 1, 1, "", "no such tenant export file")])
    raise TenantExportError([Problem(display, 1, 1, "", "tenant exports are not read yet")])
