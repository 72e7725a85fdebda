"""Database backends keel adds to Django's."""
