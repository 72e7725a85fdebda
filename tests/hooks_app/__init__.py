"""A test-only app that provides keel's role hooks and records what the roles do with them."""
