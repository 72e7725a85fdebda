"""``keel cutover``: move each route from an existing Lambda function to keel by weight.

Not a Django app: it runs on an operator's machine (or in CI) with boto3's standard
credential chain, against the listener rules, target groups, alarms and log group that
``keel.infra.cutover`` creates and tags (docs/adr/0007-cutover.md, docs/migration.md).
``routes`` finds them, ``changes`` moves a route's weights and logs each move,
``services`` steps and bakes or rolls back, ``health`` and ``retire`` report.
"""
