from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalog import views

router = DefaultRouter()
router.register("products", views.ProductViewSet)

urlpatterns = [
    path("", include(router.urls)),
    path("export/", views.export),
]
