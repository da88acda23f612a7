"""The normaliser reads the engine's one Windows channel → Sigma service table: every channel
the normaliser knew before the tables were merged still maps to the same service, in any case,
and the engine's own log-source inference agrees with the normaliser on each of them."""

from __future__ import annotations

import pytest

from tandem.detection.engine import infer_logsource
from tandem.logs.normalise.logsource import windows_logsource

#: The normaliser's own table before it took the engine's (service → channels, as Windows
#: spells them), kept here as the fixed expectation.
BEFORE: dict[str, tuple[str, ...]] = {
    "security": ("Security",),
    "system": ("System",),
    "application": ("Application",),
    "sysmon": ("Microsoft-Windows-Sysmon/Operational",),
    "powershell": ("Microsoft-Windows-PowerShell/Operational",),
    "powershell-classic": ("Windows PowerShell",),
    "windefend": ("Microsoft-Windows-Windows Defender/Operational",),
    "taskscheduler": ("Microsoft-Windows-TaskScheduler/Operational",),
    "wmi": ("Microsoft-Windows-WMI-Activity/Operational",),
    "dns-server": ("DNS Server",),
    "dns-server-audit": ("Microsoft-Windows-DNS-Server/Audit",),
    "dns-client": ("Microsoft-Windows-DNS Client Events/Operational",),
    "driver-framework": ("Microsoft-Windows-DriverFrameworks-UserMode/Operational",),
    "ntlm": ("Microsoft-Windows-NTLM/Operational",),
    "dhcp": ("Microsoft-Windows-DHCP-Server/Operational",),
    "msexchange-management": ("MSExchange Management",),
    "applocker": (
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
    ),
    "printservice-admin": ("Microsoft-Windows-PrintService/Admin",),
    "printservice-operational": ("Microsoft-Windows-PrintService/Operational",),
    "codeintegrity-operational": ("Microsoft-Windows-CodeIntegrity/Operational",),
    "smbclient-security": ("Microsoft-Windows-SmbClient/Security",),
    "smbserver-connectivity": ("Microsoft-Windows-SmbServer/Connectivity",),
    "firewall-as": ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",),
    "bits-client": ("Microsoft-Windows-Bits-Client/Operational",),
    "terminalservices-localsessionmanager": (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    ),
    "microsoft-servicebus-client": ("Microsoft-ServiceBus-Client",),
    "appxdeployment-server": ("Microsoft-Windows-AppXDeploymentServer/Operational",),
    "appxpackaging-om": ("Microsoft-Windows-AppxPackaging/Operational",),
    "appmodel-runtime": ("Microsoft-Windows-AppModel-Runtime/Admin",),
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "security-mitigations": (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode",
    ),
    "shell-core": ("Microsoft-Windows-Shell-Core/Operational",),
    "openssh": ("OpenSSH/Operational",),
    "lsa-server": ("Microsoft-Windows-LSA/Operational",),
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
    "diagnosis-scripted": ("Microsoft-Windows-Diagnosis-Scripted/Operational",),
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    ),
    "capi2": ("Microsoft-Windows-CAPI2/Operational",),
    "bitlocker": ("Microsoft-Windows-BitLocker/BitLocker Management",),
}
CASES = [(channel, service) for service, channels in BEFORE.items() for channel in channels]


@pytest.mark.parametrize(("channel", "service"), CASES)
def test_every_channel_the_normaliser_knew_maps_as_before(channel: str, service: str) -> None:
    for spelling in (channel, channel.lower(), channel.upper()):
        assert windows_logsource(spelling, None)["service"] == service


@pytest.mark.parametrize(("channel", "service"), CASES)
def test_the_engine_infers_the_same_service(channel: str, service: str) -> None:
    event = {"Event": {"System": {"Channel": channel, "EventID": 1}}}
    assert infer_logsource(event).service == service


def test_an_unknown_channel_has_no_service() -> None:
    assert windows_logsource("Vendor-Thing/Operational", 1)["service"] is None
