"""Rule pack pages, in the ``detection`` namespace (decision 0044)."""

from django.urls import path

from tandem.detection import views

app_name = "detection"

urlpatterns = [
    path("rule-packs/", views.rule_packs, name="rule-packs"),
    path("rule-packs/<id:pack_id>/", views.pack_detail, name="rule-pack"),
    path("tenants/<id:tenant_id>/rules/", views.tenant_rules, name="tenant-rules"),
    path(
        "tenants/<id:tenant_id>/rules/packs/<id:pack_id>/",
        views.pack_toggle,
        name="tenant-pack-toggle",
    ),
    path("tenants/<id:tenant_id>/rules/toggle/", views.rule_toggle, name="tenant-rule-toggle"),
    path("tenants/<id:tenant_id>/rules/upload/", views.custom_upload, name="custom-upload"),
    path(
        "tenants/<id:tenant_id>/rules/placeholder-lists/",
        views.placeholder_add,
        name="placeholder-list-add",
    ),
    path(
        "placeholder-lists/<id:placeholder_list_id>/",
        views.placeholder_detail,
        name="placeholder-list",
    ),
    path(
        "placeholder-lists/<id:placeholder_list_id>/edit/",
        views.placeholder_edit,
        name="placeholder-list-edit",
    ),
    path(
        "placeholder-lists/<id:placeholder_list_id>/delete/",
        views.placeholder_delete,
        name="placeholder-list-delete",
    ),
    path("custom-rules/<id:custom_rule_id>/", views.custom_rule, name="custom-rule"),
    path("custom-rules/<id:custom_rule_id>/edit/", views.custom_edit, name="custom-rule-edit"),
    path(
        "custom-rules/<id:custom_rule_id>/toggle/", views.custom_toggle, name="custom-rule-toggle"
    ),
    path(
        "custom-rules/<id:custom_rule_id>/delete/", views.custom_delete, name="custom-rule-delete"
    ),
]
