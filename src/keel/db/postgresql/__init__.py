"""Django's PostgreSQL backend, with passwords that rotate (keel.credentials).

``ENGINE: "keel.db.postgresql"``; ``keel.conf.database_config`` chooses it when the
password comes from a secret (``DATABASE_PASSWORD_SECRET_ARN``, ``DATABASE_URL_SECRET_ARN``).
"""
