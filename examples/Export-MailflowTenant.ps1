#Requires -Version 5.1
<#
.SYNOPSIS
    Exports the Exchange Online mail-flow configuration that pytest-mailflow's connector rules read.

.DESCRIPTION
    Reads the tenant's configuration and writes it as one UTF-8 JSON file (a "tenant export", format 1; see
    docs/tenant-export.md). A pytest-mailflow policy names the file with 'tenant_export:'.

    The script only reads. It runs these cmdlets and no others:
      Get-InboundConnector
      Get-OutboundConnector -IncludeTestModeConnectors $true, then again with $false. Each run lists only
        one group (connectors in test mode, then connectors not in test mode), so the two are merged;
        a connector seen twice (same Guid) is written once.
      Get-AcceptedDomain
      Get-DkimSigningConfig
      Get-OrganizationConfig (only RejectDirectSend and the organisation's name, display name, identity and Guid)

    Every value is written as JSON text, a boolean, a number or null. Enums are written as their names,
    multi-valued properties as lists of strings (SenderDomains as "smtp:*;1"), and times in ISO 8601 UTC.
    The output is the same on Windows PowerShell 5.1 and PowerShell 7.

    Connection: if the Exchange Online cmdlets are not loaded yet, the script runs
    Connect-ExchangeOnline -ShowBanner:$false (module ExchangeOnlineManagement). The account must be allowed
    to run the Get- cmdlets above; read-only roles such as Global Reader are meant to be enough.

    The export holds configuration, not secrets: connector settings, domain names, DKIM selector host
    names. It leaves out the DKIM public keys (Selector1PublicKey, Selector2PublicKey), which are public
    but large. Review the file before you share it: it names your domains, partners and on-premises hosts.

.PARAMETER Path
    Where to write the export. Defaults to .\tenant-export.json. An existing file is overwritten.

.PARAMETER UserPrincipalName
    Passed to Connect-ExchangeOnline when the script has to connect.

.PARAMETER ExchangeEnvironmentName
    Passed to Connect-ExchangeOnline when the script has to connect: O365USGovGCCHigh, O365USGovDoD or
    O365China for the sovereign clouds. Leave it out for the worldwide cloud and GCC.

.EXAMPLE
    PS> .\Export-MailflowTenant.ps1 -Path .\policies\contoso-tenant.json

    Connects if necessary and writes the export next to the policy that names it.

.EXAMPLE
    PS> Connect-ExchangeOnline -UserPrincipalName admin@contoso.onmicrosoft.com -ShowBanner:$false
    PS> .\Export-MailflowTenant.ps1

    Uses the session that is already open and writes .\tenant-export.json.

.NOTES
    Format: mailflow_tenant_export 1. Script version 1.
    Written from the cmdlet documentation. It has not been run against a tenant by the pytest-mailflow
    developers, so please report cmdlet output that it does not write correctly.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty()]
    [string] $Path = '.\tenant-export.json',

    [string] $UserPrincipalName,

    [ValidateSet('O365Default', 'O365USGovGCCHigh', 'O365USGovDoD', 'O365China', 'O365GermanyCloud')]
    [string] $ExchangeEnvironmentName
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$FormatVersion = 1
$ScriptVersion = '1'
# Public but bulky; nothing in pytest-mailflow reads them.
$SkippedProperties = @('Selector1PublicKey', 'Selector2PublicKey')

function Get-PropertyValue {
    # The value of a property, or $null when the object has no such property (strict mode would throw).
    param($InputObject, [string] $Name)
    if ($null -eq $InputObject) { return $null }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return $property.Value
}

function ConvertTo-ExportText {
    # One value as text: enums by name, times in ISO 8601 UTC, cmdlet types (AddressSpace, IPRange,
    # SmtpDomain, SmartHost, ADObjectId) by their ToString() form, which is how the cmdlets print them.
    param($Value)
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
    }
    return [string] $Value.ToString()
}

function ConvertTo-ExportValue {
    # A value that ConvertTo-Json writes the same way on Windows PowerShell 5.1 and PowerShell 7.
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [string] -or $Value -is [bool]) { return $Value }
    if ($Value -is [enum]) { return $Value.ToString() }
    $typeName = @($Value.PSObject.TypeNames)[0]
    if ($Value -is [System.ValueType] -and "$typeName" -like 'Deserialized.*') {
        # An enum that crossed a remoting boundary: a number that prints as its name.
        return [string] $Value.ToString()
    }
    $numeric = [byte], [sbyte], [int16], [uint16], [int32], [uint32], [int64], [uint64], [single], [double], [decimal]
    foreach ($type in $numeric) {
        if ($Value -is $type) { return $Value }
    }
    if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [System.Collections.IDictionary]) {
        $items = New-Object -TypeName 'System.Collections.Generic.List[object]'
        foreach ($item in $Value) {
            if ($null -ne $item) { $items.Add((ConvertTo-ExportText $item)) }
        }
        # The comma keeps PowerShell from unrolling a list of zero or one items.
        return , $items.ToArray()
    }
    return ConvertTo-ExportText $Value
}

function ConvertTo-ExportObject {
    # All properties of one cmdlet object (as Select-Object * shows them), each converted to plain JSON.
    param([Parameter(Mandatory = $true)] $InputObject)
    $out = [ordered]@{}
    foreach ($property in $InputObject.PSObject.Properties) {
        if ($SkippedProperties -contains $property.Name -or $out.Contains($property.Name)) { continue }
        try {
            $value = $property.Value
        } catch {
            continue  # a computed property that cannot be read here
        }
        $out[$property.Name] = ConvertTo-ExportValue $value
    }
    return $out
}

function ConvertTo-ExportList {
    param($InputObject)
    $list = New-Object -TypeName 'System.Collections.Generic.List[object]'
    foreach ($item in @($InputObject)) {
        if ($null -ne $item) { $list.Add((ConvertTo-ExportObject $item)) }
    }
    return , $list.ToArray()
}

# --- Connect ------------------------------------------------------------------------------------------

if (-not (Get-Command -Name 'Get-InboundConnector' -ErrorAction SilentlyContinue)) {
    if (-not (Get-Command -Name 'Connect-ExchangeOnline' -ErrorAction SilentlyContinue)) {
        throw 'Connect-ExchangeOnline was not found. Install the module first: Install-Module ExchangeOnlineManagement -Scope CurrentUser'
    }
    $connect = @{ ShowBanner = $false }
    if ($UserPrincipalName) { $connect['UserPrincipalName'] = $UserPrincipalName }
    if ($ExchangeEnvironmentName) { $connect['ExchangeEnvironmentName'] = $ExchangeEnvironmentName }
    Write-Verbose 'Connecting to Exchange Online'
    Connect-ExchangeOnline @connect
}

# --- Read ---------------------------------------------------------------------------------------------

Write-Verbose 'Get-InboundConnector'
$inbound = ConvertTo-ExportList (Get-InboundConnector)

Write-Verbose 'Get-OutboundConnector -IncludeTestModeConnectors $true and $false'
$outboundByKey = [ordered]@{}
foreach ($includeTestMode in @($true, $false)) {
    foreach ($connector in @(Get-OutboundConnector -IncludeTestModeConnectors $includeTestMode)) {
        if ($null -eq $connector) { continue }
        $key = [string] (Get-PropertyValue $connector 'Guid')
        if (-not $key) { $key = [string] (Get-PropertyValue $connector 'Identity') }
        if (-not $key) { $key = [string] (Get-PropertyValue $connector 'Name') }
        if (-not $outboundByKey.Contains($key)) {
            $outboundByKey[$key] = ConvertTo-ExportObject $connector
        }
    }
}
$outbound = ConvertTo-ExportList @()
if ($outboundByKey.Count -gt 0) { $outbound = [object[]] @($outboundByKey.Values) }

Write-Verbose 'Get-AcceptedDomain'
$acceptedDomains = ConvertTo-ExportList (Get-AcceptedDomain)

Write-Verbose 'Get-DkimSigningConfig'
$dkim = ConvertTo-ExportList (Get-DkimSigningConfig)

Write-Verbose 'Get-OrganizationConfig'
$organizationConfig = Get-OrganizationConfig
$organization = [ordered]@{}
foreach ($name in @('Name', 'DisplayName', 'Identity', 'Guid', 'RejectDirectSend')) {
    $organization[$name] = ConvertTo-ExportValue (Get-PropertyValue $organizationConfig $name)
}

# --- Write --------------------------------------------------------------------------------------------

$module = Get-Module -Name 'ExchangeOnlineManagement' | Sort-Object -Property Version -Descending | Select-Object -First 1
$export = [ordered]@{
    mailflow_tenant_export = $FormatVersion
    exported_at            = ConvertTo-ExportText (Get-Date)
    exported_by            = [ordered]@{
        script         = 'Export-MailflowTenant.ps1'
        script_version = $ScriptVersion
        powershell     = $PSVersionTable.PSVersion.ToString()
        module         = if ($module) { "ExchangeOnlineManagement $($module.Version)" } else { $null }
    }
    organization           = $organization
    inbound_connectors     = $inbound
    outbound_connectors    = $outbound
    accepted_domains       = $acceptedDomains
    dkim_signing_config    = $dkim
}

if ($PSVersionTable.PSVersion.Major -lt 6) {
    # Windows PowerShell 5.1 would otherwise write some arrays as {"value": [...], "Count": n}.
    Remove-TypeData -TypeName 'System.Array' -ErrorAction SilentlyContinue
}
$convert = @{ InputObject = $export; Depth = 6 }
if ((Get-Command -Name 'ConvertTo-Json').Parameters.ContainsKey('EnumsAsStrings')) {
    $convert['EnumsAsStrings'] = $true  # PowerShell 7; the values are already text, this is a safety net
}
$json = ConvertTo-Json @convert

# UTF-8 without a byte-order mark on both editions (Out-File in Windows PowerShell 5.1 writes UTF-16).
$fullPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
[System.IO.File]::WriteAllText($fullPath, $json + [Environment]::NewLine, (New-Object -TypeName 'System.Text.UTF8Encoding' -ArgumentList $false))

Write-Verbose ("Wrote {0}: {1} inbound and {2} outbound connectors, {3} accepted domains, {4} DKIM signing configs" -f `
        $fullPath, @($inbound).Count, @($outbound).Count, @($acceptedDomains).Count, @($dkim).Count)
Get-Item -LiteralPath $fullPath
