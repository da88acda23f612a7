"""The patching app's permissions (declared in ``apps.py``)."""

#: Read the catalogue, update states, policies, rings and windows (within scope).
VIEW_PATCHING = "patching.view_patching"
#: Change policies, rings, windows and the tenant's patching settings: the tenant's own IT.
CHANGE_PATCH_POLICY = "patching.change_patchpolicy"
#: Approve or reject updates; *which* devices is decided by the responsibility matrix.
APPROVE_UPDATES = "patching.approve_updates"
