from django.urls import path

from groups_app.api import GroupViewSet

collection = GroupViewSet.as_view({"get": "list", "post": "create"})
member = GroupViewSet.as_view({"get": "retrieve"})
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
