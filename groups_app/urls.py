from django.urls import path

from groups_app.api import GroupViewSet

collection = GroupViewSet.as_view({"get": "list", "post": "create"})
member = GroupViewSet.as_view({"get": "retrieve"})

# Each path also answers with a trailing slash; the schema lists the canonical form.
urlpatterns = [
    path("sessions/<str:session>/groups", collection, name="session-groups"),
    path("sessions/<str:session>/groups/", collection),
    path("sessions/<str:session>/groups/<str:groupJid>", member, name="session-group"),
    path("sessions/<str:session>/groups/<str:groupJid>/", member),
]
