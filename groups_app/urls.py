from django.urls import path

from groups_app.api import GroupViewSet

collection = GroupViewSet.as_view({"get": "list", "post": "create"})
member = GroupViewSet.as_view({"get": "retrieve", "patch": "partial_update"})
participants = GroupViewSet.as_view({"get": "participants", "post": "change_participants"})
invite = GroupViewSet.as_view({"get": "invite"})
revoke_invite = GroupViewSet.as_view({"post": "revoke_invite"})
leave = GroupViewSet.as_view({"post": "leave"})
sync = GroupViewSet.as_view({"post": "sync"})

# Each path also answers with a trailing slash; the schema lists the canonical form.
urlpatterns = [
    path("sessions/<str:session>/groups", collection, name="session-groups"),
    path("sessions/<str:session>/groups/", collection),
    # Before the group path: "sync" is not a group JID.
    path("sessions/<str:session>/groups/sync", sync, name="session-groups-sync"),
    path("sessions/<str:session>/groups/sync/", sync),
    path("sessions/<str:session>/groups/<str:groupJid>", member, name="session-group"),
    path("sessions/<str:session>/groups/<str:groupJid>/", member),
]
# A group's sub-resources, each with and without a trailing slash.
for suffix, view in (
    ("participants", participants),
    ("invite", invite),
    ("invite/revoke", revoke_invite),
    ("leave", leave),
):
    route = f"sessions/<str:session>/groups/<str:groupJid>/{suffix}"
    name = "session-group-" + suffix.replace("/", "-")
    urlpatterns += [path(route, view, name=name), path(f"{route}/", view)]
