"""Pages."""
def lockout_response(request, credentials, *a, **k): pass
