from tandem.core.apps import TandemAppConfig


class DetectionConfig(TandemAppConfig):
    """Sigma detection (decision 0034): the pure engine in ``tandem.detection.engine`` (rule
    packs read through pySigma, compiled once into an indexed form, matched against the
    normalised events of ``tandem.logs``) and the ``tandem detect`` command. Rule packs per
    tenant and the worker that feeds alerts come later; the app has no models yet."""

    name = "tandem.detection"
    label = "detection"
    verbose_name = "Detection"

    cli_commands = ("tandem.detection.cli",)
