from tandem.core.apps import TandemAppConfig
from tandem.detection.permissions import CHANGE_RULES, VIEW_RULES


class DetectionConfig(TandemAppConfig):
    """Sigma detection (decisions 0034, 0044): the pure engine in
    ``tandem.detection.engine`` (rule packs read through pySigma, compiled once into an
    indexed form, matched against the normalised events of ``tandem.logs``) and the
    ``tandem detect`` command; the installed rule packs as versioned objects, and each
    tenant's choice of rules (packs and rules turned off, custom rules uploaded), which the
    detection worker composes per tenant (``rulesets``)."""

    name = "tandem.detection"
    label = "detection"
    verbose_name = "Detection"

    tenant_sections = (("rules", "Detection rules", "detection:tenant-rules", VIEW_RULES, 33),)
    workspace_links = (("rule-packs", "Rule packs", "detection:rule-packs", VIEW_RULES, 36),)

    api_routers = ("tandem.detection.api.router",)
    cli_commands = ("tandem.detection.cli",)
    url_modules = ("tandem.detection.urls",)
    permissions = (VIEW_RULES, CHANGE_RULES)
    # The tenant's IT reads and tunes its rules; auditors read; a provider's people read
    # them through an engagement covering security monitoring, and its admins change them
    # when the engagement also allows ``security.rules`` (checked by the policies).
    role_permissions = {
        "tenant-owner": (VIEW_RULES, CHANGE_RULES),
        "internal-technician": (VIEW_RULES, CHANGE_RULES),
        "auditor": (VIEW_RULES,),
        "provider-admin": (VIEW_RULES, CHANGE_RULES),
        "provider-technician": (VIEW_RULES,),
    }
    # Old compiled packs and Hyperscan databases in the cache folder (decision 0034).
    schedule = (("clean-detection-cache", 24 * 3600, "tandem.detection.cache.clean_cache_task"),)
    isolation_expectations = ("tests.isolation.expect_detection",)
    test_world = ("tandem.detection.tests.world.build_detection_world",)
