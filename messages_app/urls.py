from django.urls import path

from messages_app.api import MessageViewSet

collection = MessageViewSet.as_view({"get": "list", "post": "create"})
media = MessageViewSet.as_view({"get": "media"})

# Each path also answers with a trailing slash; the schema lists the canonical form.
urlpatterns = [
    path("sessions/<str:session>/messages", collection, name="session-messages"),
    path("sessions/<str:session>/messages/", collection),
    path(
        "sessions/<str:session>/messages/<str:messageId>/media",
        media,
        name="session-message-media",
    ),
    path("sessions/<str:session>/messages/<str:messageId>/media/", media),
]
