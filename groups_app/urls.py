from django.urls import path

from groups_app.api import GroupViewSet

collection = GroupViewSet.as_view({"get": "list", "post": "create"})
member = GroupViewSet.as_view({"get": "retrieve", "patch": "partial_update"})
participants = GroupViewSet.as_view({"get": "participants", "post": "change_participants"})
invite = GroupViewSet.as_view({"get": "invite"})
revoke_invite = GroupViewSet.as_view({"post": "revoke_invite"})
leave = GroupViewSet.as_view({"post": "leave"})
sync = GroupViewSet.as_view({"post": "sync"})
join = GroupViewSet.as_view({"post": "join"})
invite_info = GroupViewSet.as_view({"get": "invite_info"})
picture = GroupViewSet.as_view({"put": "picture"})
join_requests = GroupViewSet.as_view({"get": "join_requests"})

# Each path also answers with a trailing slash; the schema lists the canonical form.
urlpatterns = [
    path("sessions/<str:session>/groups", collection, name="session-groups"),
    path("sessions/<str:session>/groups/", collection),
    # Before the group path: "sync" is not a group JID.
    path("sessions/<str:session>/groups/sync", sync, name="session-groups-sync"),
    path("sessions/<str:session>/groups/sync/", sync),
    path("sessions/<str:session>/groups/join", join, name="session-groups-join"),
    path("sessions/<str:session>/groups/join/", join),
    path(
        "sessions/<str:session>/groups/invite-info", invite_info, name="session-groups-invite-info"
    ),
    path("sessions/<str:session>/groups/invite-info/", invite_info),
    path("sessions/<str:session>/groups/<str:groupJid>", member, name="session-group"),
    path("sessions/<str:session>/groups/<str:groupJid>/", member),
]
# A group's sub-resources, each with and without a trailing slash.
for suffix, view in (
    ("participants", participants),
    ("invite", invite),
    ("invite/revoke", revoke_invite),
    ("leave", leave),
    ("picture", picture),
    ("join-requests", join_requests),
):
    route = f"sessions/<str:session>/groups/<str:groupJid>/{suffix}"
    name = "session-group-" + suffix.replace("/", "-")
    urlpatterns += [path(route, view, name=name), path(f"{route}/", view)]
