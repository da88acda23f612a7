"""Words for generated tickets: subjects, descriptions and notes per service area.

Short, plausible and varied enough that a text search finds some tickets and not others
("printer", "vpn", "backup"). No tabs, newlines or backslashes: the rows go into PostgreSQL
COPY text format as they are.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Ada", "Ben", "Carla", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Keiko",
    "Lars", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wim", "Xenia", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Diego", "Emma", "Felix",
)  # fmt: skip
LAST_NAMES = (
    "Adler", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito",
    "Jansen", "Kowalski", "Lopez", "Meyer", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Vogel", "Walker", "Xu", "Yilmaz", "Zimmer", "Novak", "Berg",
)  # fmt: skip
COMPANY_WORDS = (
    "Alder", "Birch", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer", "Quarry", "Riverside", "Summit",
    "Tundra", "Umbra", "Vertex", "Willow", "Zephyr",
)  # fmt: skip
COMPANY_KINDS = (
    "Logistics", "Foods", "Clinics", "Legal", "Engineering", "Retail", "Insurance", "Media",
    "Architects", "Dental", "Schools", "Hotels", "Pharma", "Energy", "Finance", "Labs",
)  # fmt: skip
PROVIDER_WORDS = (
    "Northwind", "Sentinel", "Bluefin", "Citadel", "Beacon", "Ironclad", "Keystone", "Lighthouse",
    "Nexus", "Overwatch", "Paragon", "Redwood", "Skyline", "Trident", "Vanguard", "Watchtower",
)  # fmt: skip

#: Per service area key: (subjects, details). A subject and a detail make a description.
AREA_TEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tier1-desk": (
        (
            "Laptop will not start",
            "Outlook keeps asking for my password",
            "Printer on the second floor jams",
            "Screen flickers after docking",
            "Teams calls drop after a few minutes",
            "Keyboard missing keys",
            "Need a new headset",
            "Excel crashes when opening the budget file",
            "Cannot print to the colour printer",
            "Mouse not recognised",
            "Shared drive missing after restart",
            "Webcam not working",
        ),
        (
            "It started this morning after the update.",
            "Restarting did not help.",
            "Colleagues next to me have the same problem.",
            "It happens every time I try.",
            "I need this fixed before the client meeting.",
            "The error message is attached.",
        ),
    ),
    "endpoint-patching": (
        (
            "Windows update stuck at 35 percent",
            "Laptop restarts for updates during meetings",
            "Browser update broke the intranet plug-in",
            "Update failed with error 0x80070005",
            "Office patches missing on several machines",
            "Driver update request for docking",
        ),
        (
            "The machine asks to restart every hour.",
            "Several laptops in finance are affected.",
            "The update log shows a failed install.",
            "Please schedule it outside office hours.",
        ),
    ),
    "server-patching": (
        (
            "Payroll server very slow",
            "File server patch window overran",
            "SQL server needs the monthly cumulative update",
            "Database server rebooted unexpectedly",
            "Hypervisor host firmware update",
            "Print server unresponsive after patching",
        ),
        (
            "Users report timeouts since the weekend.",
            "The maintenance window was Sunday night.",
            "Monitoring shows high CPU on the host.",
            "The vendor advisory rates it critical.",
        ),
    ),
    "backup": (
        (
            "Nightly backup job failed",
            "Restore a deleted project folder",
            "Backup storage almost full",
            "Restore an old mailbox item",
            "Backup retention review",
        ),
        (
            "The job log shows a snapshot error.",
            "The folder was deleted last Thursday.",
            "We need the version from the end of last month.",
            "The report came in this morning.",
        ),
    ),
    "security-monitoring": (
        (
            "Suspicious e-mail with an invoice attachment",
            "Strange sign-in alert from abroad",
            "Endpoint protection quarantined a file",
            "Possible phishing link clicked",
            "Unusual outbound traffic from a workstation",
            "Brute force alert on the VPN gateway",
        ),
        (
            "The sender address looks almost like our bank.",
            "The alert fired twice overnight.",
            "The user already entered their password.",
            "The firewall log is attached.",
        ),
    ),
    "identity": (
        (
            "Account locked out",
            "Reset multi-factor authentication",
            "Password reset request",
            "New group membership for the finance share",
            "Cannot sign in to the VPN",
            "Single sign-on fails for the CRM",
        ),
        (
            "I changed my phone last week.",
            "The account locked after the password change.",
            "My manager approved the access.",
            "The sign-in page loops back to the start.",
        ),
    ),
    "network": (
        (
            "Wi-Fi drops in meeting room 3",
            "VPN very slow from home",
            "Switch port dead at desk 14",
            "Guest Wi-Fi password change",
            "Branch office internet down",
            "DNS resolution slow",
        ),
        (
            "Pages load only after several tries.",
            "The whole floor is affected.",
            "The link light on the port is off.",
            "It started after the provider maintenance.",
        ),
    ),
    "lob-apps": (
        (
            "ERP invoice run fails",
            "CRM export times out",
            "License for the design software",
            "Warehouse scanner app crashes",
            "Report missing in the BI portal",
            "Time tracking app shows wrong hours",
        ),
        (
            "The error appears at the last step.",
            "It worked fine last month.",
            "The vendor asked us to open a ticket.",
            "About twenty users are affected.",
        ),
    ),
    "onboarding": (
        (
            "New starter on Monday",
            "Leaver: disable accounts and collect laptop",
            "Intern needs a laptop and e-mail",
            "Move a colleague to another department",
            "Contractor access for three months",
        ),
        (
            "Please prepare the standard sales setup.",
            "The manager signed the request form.",
            "Equipment should be ready at reception.",
            "Access ends on the last working day.",
        ),
    ),
    "cloud": (
        (
            "Cloud storage quota exceeded",
            "New virtual machine for testing",
            "Cost alert on the cloud subscription",
            "SharePoint site permissions",
            "Certificate expiring on the web app",
        ),
        (
            "The alert came from the billing portal.",
            "We need it by the end of the week.",
            "The site owner left the company.",
            "The certificate expires in ten days.",
        ),
    ),
}

PUBLIC_REPLIES = (
    "Thanks for reporting this. We are looking into it now.",
    "We have reproduced the problem and are working on a fix.",
    "Could you tell us when this last worked as expected?",
    "A technician will contact you within the hour.",
    "We have applied a fix. Please check and let us know.",
    "This is fixed on our side. Please confirm it works for you.",
)
REQUESTER_REPLIES = (
    "Thanks, it works again.",
    "It last worked on Friday afternoon.",
    "Still the same problem here, sorry.",
    "I attached a screenshot of the error.",
    "Yes, you can remote in any time today.",
)
PRIVATE_NOTES = (
    "Checked the logs, nothing obvious yet.",
    "Known issue, linking to the vendor case.",
    "Waiting for the spare part from stock.",
    "Same user had this last month, see history.",
    "Remote session booked for tomorrow morning.",
)
SHARED_NOTES = (
    "Escalating details for the other team: steps to reproduce are in the description.",
    "We restarted the service; please check the monitoring on your side.",
    "Change window approved for tonight, please run the update.",
    "Handing over with the logs attached; the user is available until five.",
    "Vendor confirmed the bug, workaround applied for now.",
)
HANDOFF_REASONS = (
    "Needs server access the provider holds",
    "Outside our engagement, back to internal IT",
    "Escalated: needs a specialist",
    "Wrong queue, belongs to the other team",
    "On-site visit required",
)
TIME_NOTES = ("Diagnosis", "Remote session", "Fix and test", "Call with the user", "")
RATING_COMMENTS = ("Quick and friendly.", "Took a while but fixed.", "", "", "Great help, thanks.")
TAGS = ("vip", "hardware", "recurring", "vendor", "remote", "after-hours")
