"""Tenant exports: tolerant loading of what PowerShell writes, located errors for what it cannot be."""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_mailflow.errors import InputFileError
from pytest_mailflow.tenant.load import (
    TenantExportError,
    load_tenant_export,
    read_tenant_export,
    tenant_export_schema,
)
from pytest_mailflow.tenant.model import Located, TenantExport

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "tenant"
PWSH7 = DATA / "contoso-pwsh7.json"
WINPS51 = DATA / "contoso-winps51.json"
SCRIPT = ROOT / "examples" / "Export-MailflowTenant.ps1"


def without_places(export: TenantExport) -> TenantExport:
    """The export with every Located (and the file name) blanked, to compare what was read."""

    def blank(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dataclasses.replace(item, where=Located("", 0)) for item in items)

    return dataclasses.replace(
        export,
        path="",
        inbound=blank(export.inbound),
        outbound=blank(export.outbound),
        accepted_domains=blank(export.accepted_domains),
        dkim=blank(export.dkim),
    )


def read(document: dict[str, Any] | str, encoding: str = "utf-8") -> TenantExport:
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    return read_tenant_export(text.encode(encoding), "t.json")


def export(**sections: Any) -> dict[str, Any]:
    return {"mailflow_tenant_export": 1, **sections}


def errors_of(raw: bytes) -> list[str]:
    with pytest.raises(TenantExportError) as caught:
        read_tenant_export(raw, "t.json")
    return [str(p) for p in caught.value.problems]


# --- the two sample exports --------------------------------------------------------------------------


def test_windows_powershell_sample_is_utf16_with_a_byte_order_mark() -> None:
    raw = WINPS51.read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)
    text = raw.decode("utf-16")
    assert '"ConnectorType":  2' in text  # integer enums, 5.1 layout
    assert '"DetectSenderIPBySkippingTheseIPs"' in text
    assert "EFSkipIPs" not in text
    assert '"SenderDomains":  "smtp:*;1"' in text
    assert "\\/Date(" in text


def test_both_styles_load_to_the_same_tenant() -> None:
    modern = load_tenant_export(PWSH7, "pwsh7.json")
    legacy = load_tenant_export(WINPS51, "winps51.json")
    assert modern.warnings == ()
    assert legacy.warnings == ()
    assert without_places(modern) == without_places(legacy)
    # Same objects, each located in its own file.
    assert str(modern.inbound[0].where) == "pwsh7.json:18"
    assert str(legacy.inbound[0].where) == "winps51.json:14"
    assert modern.inbound[0].where != legacy.inbound[0].where


def test_the_hybrid_tenant_with_a_third_party_filter() -> None:
    tenant = load_tenant_export(PWSH7, "tenant.json")
    assert tenant.path == "tenant.json"
    assert tenant.tenant == "contoso"
    assert tenant.reject_direct_send is False

    lockdown, hcw_in = tenant.inbound
    assert lockdown.name == "Inbound from Fabrikam Filter"
    assert (lockdown.connector_type, lockdown.connector_source) == ("Partner", "Default")
    assert lockdown.is_partner
    assert lockdown.sender_domains == ("*",)
    assert lockdown.tls_sender_certificate_name == "*.filter.fabrikam.example"
    assert lockdown.restrict_domains_to_certificate and lockdown.require_tls
    assert not lockdown.restrict_domains_to_ip_addresses
    assert lockdown.ef_skip_ips == ("192.0.2.0/25", "198.51.100.10-198.51.100.20")
    assert lockdown.enhanced_filtering_effective
    assert (hcw_in.connector_type, hcw_in.connector_source) == ("OnPremises", "HybridWizard")
    assert hcw_in.cloud_services_mail_enabled and hcw_in.tls_sender_certificate_name == "mail.contoso.example"
    assert tenant.is_accepted_name(hcw_in.tls_sender_certificate_name)

    hcw_out, archive, partner = tenant.outbound
    assert (hcw_out.connector_type, hcw_out.connector_source) == ("OnPremises", "HybridWizard")
    assert hcw_out.recipient_domains == ("contoso.example", "sales.contoso.example")
    assert hcw_out.smart_hosts == ("mail.contoso.example",)
    assert not hcw_out.use_mx_record
    assert (hcw_out.tls_settings, hcw_out.tls_domain, hcw_out.is_validated) == (
        "DomainValidation",
        "mail.contoso.example",
        True,
    )
    assert archive.test_mode and archive.is_transport_rule_scoped  # test-mode connectors are included
    assert (archive.tls_settings, archive.tls_domain, archive.is_validated) == ("CertificateValidation", None, None)
    assert (partner.enabled, partner.use_mx_record, partner.tls_settings) == (False, True, "EncryptionOnly")

    assert [d.domain_name for d in tenant.accepted_domains] == [
        "contoso.example",
        "sales.contoso.example",
        "contoso.onmicrosoft.com",
        "contoso.mail.onmicrosoft.com",
    ]
    initial = tenant.accepted("Contoso.onmicrosoft.com.")
    assert initial is not None and initial.initial_domain and initial.domain_type == "Authoritative"
    sales = tenant.accepted("sales.contoso.example")
    assert sales is not None and sales.domain_type == "InternalRelay" and sales.match_subdomains
    coexistence = tenant.accepted("contoso.mail.onmicrosoft.com")
    assert coexistence is not None and coexistence.is_coexistence_domain

    signing = tenant.dkim_for("contoso.example")
    assert signing is not None and signing.enabled and signing.status == "Valid"
    assert signing.selector2_cname == "selector2-contoso-example._domainkey.contoso.onmicrosoft.com"
    # Mid-upgrade: selector1 has 1024 bits, selector2 2048, and selector2 signs since RotateOnDate.
    assert signing.key_size == 2048
    pending = tenant.dkim_for("sales.contoso.example")
    assert pending is not None and not pending.enabled and pending.status == "CnameMissing"
    onmicrosoft = tenant.dkim_for("contoso.onmicrosoft.com")
    assert onmicrosoft is not None and onmicrosoft.selector1_cname is None


def test_the_second_outbound_run_adds_no_duplicates() -> None:
    raw = WINPS51.read_bytes().decode("utf-16")
    assert raw.count('"Name":  "Force TLS to Fabrikam Partner"') == 2
    tenant = load_tenant_export(WINPS51, "t.json")
    assert [c.name for c in tenant.outbound] == [
        "Outbound to 5f2b7c1d-3e4a-4b6c-9d8e-7f6a5b4c3d2e",
        "To Fabrikam Archive (test)",
        "Force TLS to Fabrikam Partner",
    ]


# --- tolerance -----------------------------------------------------------------------------------------


def test_property_names_are_matched_regardless_of_case() -> None:
    tenant = read(
        export(
            inbound_connectors=[
                {"name": "a", "CONNECTORTYPE": "onpremises", "senderdomains": ["SMTP:*.Contoso.Example;5"]},
            ]
        )
    )
    (connector,) = tenant.inbound
    assert (connector.name, connector.connector_type, connector.sender_domains) == (
        "a",
        "OnPremises",
        ("*.contoso.example",),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Partner", "Partner"), ("partner", "Partner"), (2, "Partner"), ("2", "Partner"), (1, "OnPremises")],
)
def test_connector_type_as_name_or_number(value: Any, expected: str) -> None:
    tenant = read(export(outbound_connectors=[{"Name": "a", "ConnectorType": value}]))
    assert tenant.outbound[0].connector_type == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "Default"), (1, "Migrated"), (2, "HybridWizard"), ("AdminUI", "AdminUI"), ("hybridwizard", "HybridWizard")],
)
def test_connector_source_as_name_or_number(value: Any, expected: str) -> None:
    tenant = read(export(inbound_connectors=[{"Name": "a", "ConnectorSource": value}]))
    assert tenant.inbound[0].connector_source == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, "EncryptionOnly"), (2, "CertificateValidation"), (4, "DomainValidation"), (None, None), ("", None)],
)
def test_tls_settings_as_number(value: Any, expected: str | None) -> None:
    tenant = read(export(outbound_connectors=[{"Name": "a", "TlsSettings": value}]))
    assert tenant.outbound[0].tls_settings == expected


@pytest.mark.parametrize(("value", "expected"), [(0, "Authoritative"), (1, "ExternalRelay"), (2, "InternalRelay")])
def test_domain_type_as_number(value: int, expected: str) -> None:
    tenant = read(export(accepted_domains=[{"DomainName": "contoso.example", "DomainType": value}]))
    assert tenant.accepted_domains[0].domain_type == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("True", True), ("false", False), (" FALSE ", False), ("", None)]
)
def test_booleans_as_json_or_text(value: Any, expected: bool | None) -> None:
    tenant = read(export(organization={"RejectDirectSend": value}))
    assert tenant.reject_direct_send is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["192.0.2.1", "192.0.2.0/24"], ("192.0.2.1", "192.0.2.0/24")),
        ("192.0.2.1", ("192.0.2.1",)),
        ("192.0.2.1 192.0.2.0/24", ("192.0.2.1", "192.0.2.0/24")),  # "$($connector.SenderIPAddresses)"
        ("192.0.2.1, 192.0.2.0/24", ("192.0.2.1", "192.0.2.0/24")),
        (None, ()),
        ([], ()),
        ("", ()),
        ([None, "192.0.2.1", "192.0.2.1"], ("192.0.2.1",)),
        ({"value": ["192.0.2.1"], "Count": 1}, ("192.0.2.1",)),  # Windows PowerShell 5.1 array wrapper
        ({"value": None, "Count": 0}, ()),
    ],
)
def test_multi_valued_properties(value: Any, expected: tuple[str, ...]) -> None:
    tenant = read(export(inbound_connectors=[{"Name": "a", "SenderIPAddresses": value}]))
    assert tenant.inbound[0].sender_ip_addresses == expected


def test_legacy_enhanced_filtering_names() -> None:
    tenant = read(
        export(
            inbound_connectors=[
                {
                    "Name": "a",
                    "DetectSenderIPBySkippingLastIP": "True",
                    "DetectSenderIPBySkippingTheseIPs": "203.0.113.0/24",
                    "DetectSenderIPRecipientList": ["adele@contoso.example"],
                }
            ]
        )
    )
    (connector,) = tenant.inbound
    assert connector.ef_skip_last_ip
    assert connector.ef_skip_ips == ("203.0.113.0/24",)
    assert connector.ef_users == ("adele@contoso.example",)
    assert not connector.enhanced_filtering_effective  # scoped to some users
    assert tenant.warnings == ()


def test_current_and_legacy_names_that_disagree_warn() -> None:
    text = (
        '{\n  "mailflow_tenant_export": 1,\n  "inbound_connectors": [\n    {"Name": "a",\n'
        '     "EFSkipIPs": ["203.0.113.0/24"],\n     "DetectSenderIPBySkippingTheseIPs": ["198.51.100.0/24"]}\n  ]\n}\n'
    )
    tenant = read(text)
    assert tenant.inbound[0].ef_skip_ips == ("203.0.113.0/24",)
    assert tenant.warnings == (
        "t.json:6:42: inbound_connectors.0.DetectSenderIPBySkippingTheseIPs: differs from 'EFSkipIPs'; "
        "'EFSkipIPs' is used",
    )


def test_legacy_provider_list_is_ignored_with_a_warning() -> None:
    tenant = read(
        '{"mailflow_tenant_export": 1,\n "inbound_connectors": [{"Name": "a",\n'
        '   "DetectSenderIPBySkippingTheseProviders": ["Fabrikam"]}]}'
    )
    assert not tenant.inbound[0].enhanced_filtering_effective
    assert tenant.warnings == (
        "t.json:3:46: inbound_connectors.0.DetectSenderIPBySkippingTheseProviders: this legacy enhanced-filtering "
        "setting has no current counterpart that the rules read; it is ignored",
    )


def test_unknown_properties_of_any_shape_are_ignored() -> None:
    tenant = read(
        export(
            inbound_connectors=[
                {
                    "Name": "a",
                    "OrganizationId": {"OrganizationalUnit": {"Name": "contoso.onmicrosoft.com"}},
                    "ScanAndDropRecipients": [{"x": 1}],
                    "WhenCreatedUTC": "/Date(1700000000000)/",
                    "ObjectState": 2,
                    "Identity": {"Name": "a"},
                }
            ]
        )
    )
    assert tenant.inbound[0].name == "a"


def test_a_single_object_is_a_list_of_one_and_missing_sections_are_empty() -> None:
    tenant = read(export(accepted_domains={"DomainName": "Contoso.Example.", "Default": True}, inbound_connectors=None))
    assert [d.domain_name for d in tenant.accepted_domains] == ["contoso.example"]
    assert str(tenant.accepted_domains[0].where) == "t.json:3"
    assert (tenant.inbound, tenant.outbound, tenant.dkim) == ((), (), ())
    assert (tenant.reject_direct_send, tenant.tenant) == (None, None)


def test_the_connector_name_falls_back_to_the_identity() -> None:
    tenant = read(export(outbound_connectors=[{"Identity": "To Fabrikam", "Name": None}]))
    assert tenant.outbound[0].name == "To Fabrikam"


def test_repeats_are_merged_by_guid_or_name_and_differences_are_warned() -> None:
    guid = "2D3E4F5A-6B7C-4D8E-9F0A-1B2C3D4E5F6A"
    first: dict[str, Any] = {"Name": "To Fabrikam", "Guid": guid, "TestMode": True}
    text = json.dumps(
        export(
            outbound_connectors=[
                first,
                {**first, "Guid": guid.lower()},
                {**first, "Guid": None, "TestMode": False},
            ]
        ),
        indent=1,
    )
    tenant = read(text)
    assert [(c.name, c.test_mode) for c in tenant.outbound] == [("To Fabrikam", True)]
    assert tenant.warnings == (
        "t.json:14:3: outbound_connectors.2: outbound connector 'To Fabrikam' is listed again with other settings; "
        "the first (line 4) is used",
    )


@pytest.mark.parametrize(
    ("domains", "organization", "expected"),
    [
        ([("contoso.onmicrosoft.com", True)], None, "contoso"),
        ([("Contoso.onmicrosoft.us", True)], None, "contoso"),  # GCC High / DoD
        ([("contoso.partner.onmschina.cn", True)], None, "contoso"),  # 21Vianet
        ([("contoso.mail.onmicrosoft.com", False), ("fabrikam.onmicrosoft.com", False)], None, "fabrikam"),
        ([("contoso.example", False)], "contoso.onmicrosoft.com", "contoso"),
        ([("contoso.example", False), ("contoso.mail.onmicrosoft.com", False)], None, None),
    ],
)
def test_tenant_name_from_the_initial_domain(
    domains: list[tuple[str, bool]], organization: str | None, expected: str | None
) -> None:
    tenant = read(
        export(
            accepted_domains=[{"DomainName": name, "InitialDomain": initial} for name, initial in domains],
            organization={"Name": organization},
        )
    )
    assert tenant.tenant == expected


@pytest.mark.parametrize(
    ("config", "exported_at", "expected"),
    [
        ({"KeySize": 2048, "Selector1KeySize": 1024}, None, 2048),
        ({"Selector1KeySize": 1024, "Selector2KeySize": 1024}, None, 1024),
        ({"Selector1KeySize": 1024, "Selector2KeySize": 2048}, None, None),  # which one signs is unknown
        (
            {
                "Selector1KeySize": 1024,
                "Selector2KeySize": 2048,
                "RotateOnDate": "2026-02-01T00:00:00Z",
                "SelectorBeforeRotateOnDate": "selector1",
                "SelectorAfterRotateOnDate": "selector2",
            },
            "2026-01-15T09:30:00.0000000Z",
            1024,  # the rotation has not happened yet
        ),
        (
            {
                "Selector1KeySize": "1024",
                "Selector2KeySize": 2048,
                "RotateOnDate": "/Date(1767225600000)/",
                "SelectorBeforeRotateOnDate": "Selector1",
                "SelectorAfterRotateOnDate": "Selector2",
            },
            "/Date(1768469400000)/",
            2048,
        ),
        ({}, None, None),
    ],
)
def test_dkim_key_size_of_the_active_selector(
    config: dict[str, Any], exported_at: str | None, expected: int | None
) -> None:
    tenant = read(export(exported_at=exported_at, dkim_signing_config=[{"Domain": "contoso.example", **config}]))
    assert tenant.dkim[0].key_size == expected


def test_dkim_domain_falls_back_to_the_name() -> None:
    tenant = read(export(dkim_signing_config=[{"Name": "Contoso.Example", "Enabled": "True"}]))
    assert tenant.dkim_for("contoso.example") is not None


def test_unreadable_exported_at_is_a_warning() -> None:
    tenant = read(export(exported_at="Thursday"))
    assert tenant.warnings == (
        "t.json:3:18: exported_at: 'Thursday' is not an ISO 8601 time; the active DKIM selector is unknown",
    )


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-16-le", b""),  # no mark: recognised by its zero bytes
        ("utf-16-be", b""),
    ],
)
def test_encodings(encoding: str, bom: bytes) -> None:
    text = json.dumps(export(accepted_domains=[{"DomainName": "bücher.contoso.example"}]), indent=2)
    tenant = read_tenant_export(bom + text.encode(encoding), "t.json")
    assert tenant.accepted_domains[0].domain_name == "bücher.contoso.example"
    assert str(tenant.accepted_domains[0].where) == "t.json:4"


def test_tabs_and_escapes_keep_their_line_numbers() -> None:
    text = '{\n\t"mailflow_tenant_export":\t1,\n\t"inbound_connectors": [\n\t\t{"Name": "a \\ud83d\\ude00 \\/ b"}\n\t]\n}\n'
    tenant = read(text)
    assert tenant.inbound[0].name == "a \U0001f600 / b"
    assert str(tenant.inbound[0].where) == "t.json:4"
    assert tenant.warnings == ()


def test_raw_control_characters_in_strings_keep_their_line_numbers() -> None:
    tenant = read(
        '{"mailflow_tenant_export": 1,\n "inbound_connectors": [{"Name": "a\x7fb\x9f\x85\u2028d"},\n {"Name": "c"}]}'
    )
    assert [c.name for c in tenant.inbound] == ["a\x7fb\x9f\x85\u2028d", "c"]
    assert [str(c.where) for c in tenant.inbound] == ["t.json:2", "t.json:3"]
    assert tenant.warnings == ()


def test_without_line_numbers_the_export_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pytest_mailflow.yamlload.MAX_NODES", 3)
    tenant = read_tenant_export(PWSH7.read_bytes(), "t.json")
    assert without_places(tenant) == without_places(load_tenant_export(PWSH7, "t.json"))
    assert {str(c.where) for c in tenant.inbound} == {"t.json:1"}
    assert tenant.warnings == (
        "t.json:1:1: the line-number reader gave up on this file (too large?); its objects are located at line 1",
    )


def test_duplicate_keys_are_found_without_line_numbers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pytest_mailflow.yamlload.MAX_NODES", 3)
    assert errors_of(b'{"mailflow_tenant_export": 1, "organization": {"Name": "a", "Name": "b"}}') == [
        "t.json:1:1: duplicate key 'Name'; keep one"
    ]


# --- malformed exports: one located problem each, with what to do ------------------------------------------

FORMAT = '{\n  "mailflow_tenant_export": 1,\n'
TO_DO = "examples/Export-MailflowTenant.ps1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b"",
            f"t.json:1:1: the file is empty (0 bytes); re-run {TO_DO} and check that it finished without errors",
            id="empty",
        ),
        pytest.param(
            b" \r\n\r\n", f"t.json:1:1: the file holds only white space, no JSON; re-run {TO_DO}", id="white-space"
        ),
        pytest.param(
            b"mailflow_tenant_export: 1\n",
            f"t.json:1:1: not valid JSON: Expecting value; a tenant export is JSON: write it with {TO_DO}",
            id="yaml-not-json",
        ),
        pytest.param(
            b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n</Objs>\n',
            f"t.json:1:1: not valid JSON: Expecting value; this looks like XML (Export-Clixml?): write the export "
            f"with {TO_DO}",
            id="clixml",
        ),
        pytest.param(
            (FORMAT + '  "inbound_connectors": [\n    {"Name": "x"\n').encode(),
            "t.json:5:1: not valid JSON: Expecting ',' delimiter; the file may be cut short or edited by hand: "
            "re-run the export",
            id="cut-short",
        ),
        pytest.param(
            b'[\n  {"Name": "Inbound from Fabrikam Filter", "ConnectorType": 2}\n]\n',
            't.json:1:1: expected a JSON object that starts with "mailflow_tenant_export": 1, got a list (this looks '
            "like the output of a single cmdlet piped to ConvertTo-Json); write the export with "
            f"{TO_DO}, which puts the output of each cmdlet under its own key",
            id="raw-cmdlet-output",
        ),
        pytest.param(
            b'{\n  "inbound_connectors": []\n}\n',
            "t.json:1:1: missing required key 'mailflow_tenant_export': this is not a tenant export written by "
            f'{TO_DO} (its first key is "mailflow_tenant_export": 1)',
            id="no-version",
        ),
        pytest.param(
            b'{\n  "mailflow_tenant_export": "1"\n}\n',
            't.json:2:29: mailflow_tenant_export: write the format version as a number: "mailflow_tenant_export": 1',
            id="version-as-text",
        ),
        pytest.param(
            b'{\n  "mailflow_tenant_export": 2\n}\n',
            "t.json:2:29: mailflow_tenant_export: unsupported tenant export format 2; this pytest-mailflow reads "
            f"format 1: re-export with the {TO_DO} that comes with it",
            id="version-2",
        ),
        pytest.param(
            (FORMAT + '  "inbound_conectors": []\n}\n').encode(),
            "t.json:3:3: inbound_conectors: unknown key 'inbound_conectors' (did you mean 'inbound_connectors'?)",
            id="unknown-section",
        ),
        pytest.param(
            (FORMAT + '  "accepted_domains": "contoso.example"\n}\n').encode(),
            "t.json:3:23: accepted_domains: expected a list or a JSON object or null, got a string ('contoso.example')",
            id="section-type",
        ),
        pytest.param(
            (FORMAT + '  "accepted_domains": ["contoso.example"]\n}\n').encode(),
            "t.json:3:24: accepted_domains.0: expected a JSON object, got a string ('contoso.example')",
            id="entry-type",
        ),
        pytest.param(
            (FORMAT + '  "exported_at": 5\n}\n').encode(),
            "t.json:3:18: exported_at: expected a string or null, got a number (5)",
            id="exported-at-type",
        ),
        pytest.param(
            (FORMAT + '  "inbound_connectors": [\n    {"Name": "a", "ConnectorType": 7}\n  ]\n}\n').encode(),
            "t.json:4:36: inbound_connectors.0.ConnectorType: ConnectorType 7 is not a number this loader knows "
            "(1 = OnPremises, 2 = Partner); write the name instead (Partner, OnPremises) or re-export with "
            f"{TO_DO}, which writes names",
            id="unknown-enum-number",
        ),
        pytest.param(
            (FORMAT + '  "outbound_connectors": [\n    {"Name": "a",\n     "ConnectorSource": 4}\n  ]\n}\n').encode(),
            "t.json:5:25: outbound_connectors.0.ConnectorSource: ConnectorSource 4 is not a number this loader "
            "knows (0 = Default, 1 = Migrated, 2 = HybridWizard); write the name instead (Default, HybridWizard, "
            f"Migrated, AdminUI) or re-export with {TO_DO}, which writes names",
            id="admin-ui-as-a-number",
        ),
        pytest.param(
            (
                FORMAT + '  "outbound_connectors": [\n    {"Name": "a", "TlsSettings": "DomainValidaton"}\n  ]\n}\n'
            ).encode(),
            "t.json:4:34: outbound_connectors.0.TlsSettings: 'DomainValidaton' is not a TlsSettings value; use one "
            "of: EncryptionOnly, CertificateValidation, DomainValidation (did you mean 'DomainValidation'?)",
            id="unknown-enum-name",
        ),
        pytest.param(
            (FORMAT + '  "organization": {"RejectDirectSend": "yes"}\n}\n').encode(),
            "t.json:3:40: organization.RejectDirectSend: expected true or false, got a string ('yes')",
            id="boolean",
        ),
        pytest.param(
            (
                FORMAT + '  "inbound_connectors": [\n    {"Name": "a", "SenderIPAddresses": [\n'
                '      {"LowerBound": "192.0.2.0", "CIDRLength": 24}\n    ]}\n  ]\n}\n'
            ).encode(),
            "t.json:5:7: inbound_connectors.0.SenderIPAddresses.0: expected a string, got a JSON object; re-export "
            f"with {TO_DO}, which writes every value as text",
            id="ip-range-object",
        ),
        pytest.param(
            (
                FORMAT + '  "inbound_connectors": [\n    {"Name": "a",\n'
                '     "TlsSenderCertificateName": {"CertificateName": "mail.contoso.example"}}\n  ]\n}\n'
            ).encode(),
            "t.json:5:34: inbound_connectors.0.TlsSenderCertificateName: expected a string, got a JSON object; "
            f"re-export with {TO_DO}, which writes every value as text",
            id="certificate-object",
        ),
        pytest.param(
            (
                FORMAT + '  "dkim_signing_config": [\n    {"Domain": "contoso.example", "Selector1KeySize": "big"}\n'
                "  ]\n}\n"
            ).encode(),
            "t.json:4:55: dkim_signing_config.0.Selector1KeySize: expected a whole number, got a string ('big')",
            id="key-size",
        ),
        pytest.param(
            (
                FORMAT + '  "dkim_signing_config": [\n    {"Domain": "contoso.example", "KeySize": "\u00b2"}\n  ]\n}\n'
            ).encode(),
            "t.json:4:46: dkim_signing_config.0.KeySize: expected a whole number, got a string ('\u00b2')",
            id="superscript-digit",
        ),
        pytest.param(
            (
                FORMAT + '  "accepted_domains": [\n    {"DomainName": "contoso.example",\n'
                '     "DomainName": "fabrikam.example"}\n  ]\n}\n'
            ).encode(),
            "t.json:5:6: accepted_domains.0.DomainName: duplicate key 'DomainName' (first defined at line 4)",
            id="duplicate-key",
        ),
        pytest.param(
            (
                FORMAT + '  "accepted_domains": [\n    {"DomainName": "contoso.example",\n'
                '     "domainname": "fabrikam.example"}\n  ]\n}\n'
            ).encode(),
            "t.json:5:6: accepted_domains.0.domainname: 'domainname' repeats 'DomainName' (property names are "
            "compared regardless of case); keep one",
            id="same-key-other-case",
        ),
        pytest.param(
            (FORMAT + '  "inbound_connectors": [\n    {"Enabled": true}\n  ]\n}\n').encode(),
            "t.json:4:5: inbound_connectors.0: missing 'Name': every connector needs the Name that "
            "Get-InboundConnector prints",
            id="no-name",
        ),
        pytest.param(
            (
                FORMAT + '  "accepted_domains": [\n    {"Name": "Contoso", "DomainType": "Authoritative"}\n  ]\n}\n'
            ).encode(),
            "t.json:4:5: accepted_domains.0: missing 'DomainName': every accepted domain needs the DomainName that "
            "Get-AcceptedDomain prints",
            id="no-domain-name",
        ),
        pytest.param(
            (FORMAT + '  "inbound_connectors": [\n    {"Name": "Entrée Fabrikam"}\n  ]\n}\n').encode("cp1252"),
            "t.json:4:19: the file is not UTF-8 text (byte 0xe9: invalid continuation byte); save it as UTF-8: "
            f"{TO_DO} does, whereas Set-Content and Out-File -Encoding Default in Windows PowerShell write the "
            "ANSI code page",
            id="ansi-code-page",
        ),
        pytest.param(
            codecs.BOM_UTF16_LE + b"{\x00\n\x00\x00\xd8",
            "t.json:2:1: the file is not UTF-16-LE text (byte 0x00: unexpected end of data); save it as UTF-8: "
            f"{TO_DO} does, whereas Set-Content and Out-File -Encoding Default in Windows PowerShell write the "
            "ANSI code page",
            id="broken-utf16",
        ),
    ],
)
def test_malformed_exports(raw: bytes, expected: str) -> None:
    assert errors_of(raw) == [expected]


def test_every_problem_of_a_file_is_reported_in_order() -> None:
    raw = (
        FORMAT + '  "inbound_connectors": [\n    {"Name": "a", "Enabled": "maybe"},\n'
        '    {"Name": "b", "ConnectorType": "Partnr"}\n  ]\n}\n'
    ).encode()
    assert errors_of(raw) == [
        "t.json:4:30: inbound_connectors.0.Enabled: expected true or false, got a string ('maybe')",
        "t.json:5:36: inbound_connectors.1.ConnectorType: 'Partnr' is not a ConnectorType value; use one of: "
        "Partner, OnPremises (did you mean 'Partner'?)",
    ]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(TenantExportError) as caught:
        load_tenant_export(tmp_path / "nope.json", "policies/nope.json")
    assert str(caught.value) == (
        f"policies/nope.json:1:1: no such tenant export file; write one with {TO_DO} and check the policy's "
        "tenant_export"
    )
    with pytest.raises(TenantExportError) as caught:
        load_tenant_export(tmp_path, "policies")
    assert str(caught.value) == f"policies:1:1: this is a directory, not a tenant export file; write one with {TO_DO}"


def test_the_error_is_an_input_file_error() -> None:
    assert issubclass(TenantExportError, InputFileError)


@pytest.mark.parametrize("sample", [PWSH7, WINPS51], ids=["pwsh7", "winps51"])
def test_a_damaged_export_never_raises_anything_else(sample: Path) -> None:
    """Cut the file anywhere and flip bytes: the result is an export or a located TenantExportError."""
    raw = sample.read_bytes()
    for end in range(0, len(raw), 53):
        for damaged in (raw[:end], raw[:end] + b"\xff" + raw[end + 1 :]):
            try:
                read_tenant_export(damaged, "t.json")
            except TenantExportError as exc:
                assert exc.problems
                assert all(re.match(r"t\.json:\d+:\d+: ", str(p)) for p in exc.problems)


# --- the schema and the script --------------------------------------------------------------------------


def test_the_schema_is_valid_and_accepts_both_samples() -> None:
    schema = tenant_export_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(json.loads(PWSH7.read_text(encoding="utf-8")))
    validator.validate(json.loads(WINPS51.read_bytes().decode("utf-16")))


def test_the_schema_ships_next_to_the_loader() -> None:
    assert (ROOT / "pytest_mailflow" / "tenant" / "tenant-export.schema.json").is_file()


def test_the_export_script_only_reads() -> None:
    script = SCRIPT.read_text(encoding="utf-8")
    assert script.startswith("#Requires -Version 5.1\n<#\n.SYNOPSIS")
    assert all(section in script for section in (".DESCRIPTION", ".PARAMETER Path", ".EXAMPLE", ".NOTES"))
    body = script.split("#>", 1)[1]
    code = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("#"))
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "''", code)  # cmdlet names inside messages are not calls
    cmdlets = set(re.findall(r"\b([A-Z][a-z]+-[A-Z][A-Za-z]+)\b", unquoted))
    exchange = {c for c in cmdlets if c.split("-")[1] not in _POWERSHELL_NOUNS}
    assert exchange == {
        "Connect-ExchangeOnline",
        "Get-InboundConnector",
        "Get-OutboundConnector",
        "Get-AcceptedDomain",
        "Get-DkimSigningConfig",
        "Get-OrganizationConfig",
    }
    assert all(c.startswith(("Get-", "Connect-")) for c in exchange)
    assert "-IncludeTestModeConnectors $includeTestMode" in code
    assert "@($true, $false)" in code
    assert "-ShowBanner" in script or "ShowBanner = $false" in code
    assert "UTF8Encoding' -ArgumentList $false" in code
    assert "[string] $Path = '.\\tenant-export.json'" in code
    assert "mailflow_tenant_export = $FormatVersion" in code


#: Nouns of PowerShell's own cmdlets that the script uses (everything else must be Exchange Online).
_POWERSHELL_NOUNS = {
    "StrictMode",
    "PropertyValue",
    "ExportText",
    "ExportValue",
    "ExportObject",
    "ExportList",
    "Command",
    "Verbose",
    "Object",
    "Module",
    "TypeData",
    "Json",
    "Date",
    "Item",
    "Version",
}
