"""Handlers keel must refuse at start-up."""


def takes_nothing():
    return "never called"


async def async_handler(event, context):
    return "Lambda's Python runtime does not await"


NOT_CALLABLE = {"statusCode": 200}
