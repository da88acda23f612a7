"""The agents app's permissions, apart from ``apps`` so that modules the app's ``ready``
imports can name them without an import cycle."""

#: Create, list and revoke enrolment tokens; rotate or revoke a device's credential.
MANAGE_ENROLMENT = "agents.manage_enrolment"
