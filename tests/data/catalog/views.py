"""The team's own endpoints: a DRF ViewSet and a streaming export, as they were written."""

import time
from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse
from rest_framework import permissions, serializers, viewsets

from catalog.models import Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "price_cents"]


class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.order_by("id")
    serializer_class = ProductSerializer
    permission_classes = [permissions.AllowAny]


def export(request: HttpRequest) -> StreamingHttpResponse:
    """Stream one line per product, slowly: a report the client reads as it is made."""

    def lines() -> Iterator[bytes]:
        for index, product in enumerate(Product.objects.order_by("id")):
            if index:
                time.sleep(0.4)
            yield f"{product.name} {time.time()}\n".encode()

    return StreamingHttpResponse(lines(), content_type="text/plain")
