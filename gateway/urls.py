from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from auth_app.views import dev_jwks
from gateway import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("sessions_app.urls")),
    path("api/v1/", include("groups_app.urls")),
    path("api/v1/", include("messages_app.urls")),
    path("api/v1/", include("webhooks_app.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path(".well-known/jwks.json", dev_jwks, name="dev-jwks"),
    # Anything else under /api/ is a 404 in the error envelope, not Django's HTML page.
    re_path(r"^api/", views.api_not_found),
]
