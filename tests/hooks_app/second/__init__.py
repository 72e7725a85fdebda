"""The second hooks app (an app of its own: app names must be unique)."""
