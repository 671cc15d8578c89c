from django.urls import path

from sessions_app.api import SessionViewSet

collection = SessionViewSet.as_view({"get": "list", "post": "create"})
member = SessionViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
connect = SessionViewSet.as_view({"post": "connect"})
qr = SessionViewSet.as_view({"get": "qr"})
qr_image = SessionViewSet.as_view({"get": "qr_image"})
pair_code = SessionViewSet.as_view({"post": "pair_code"})
logout = SessionViewSet.as_view({"post": "logout"})

# Each path also answers with a trailing slash; the schema lists the canonical form.
urlpatterns = []
for route, view, name in [
    ("sessions", collection, "sessions"),
    ("sessions/<str:session>", member, "session"),
    ("sessions/<str:session>/connect", connect, "session-connect"),
    ("sessions/<str:session>/qr", qr, "session-qr"),
    ("sessions/<str:session>/qr/image", qr_image, "session-qr-image"),
    ("sessions/<str:session>/pair-code", pair_code, "session-pair-code"),
    ("sessions/<str:session>/logout", logout, "session-logout"),
]:
    urlpatterns += [path(route, view, name=name), path(f"{route}/", view)]
