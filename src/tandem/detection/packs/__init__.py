"""Rule packs shipped with Tandem (decision 0041). ``STARTER`` is the detection worker's
default (``TANDEM_DETECTION_RULES`` unset): a handful of Sigma rules written for Tandem,
enough that a fresh installation raises an alert for the obvious, not a replacement for a
community pack such as SigmaHQ's."""

from pathlib import Path

STARTER = Path(__file__).resolve().parent / "starter"
