"""SQS batch handlers' partial failures, honoured as Lambda honours them.

With ReportBatchItemFailures on (the trigger's ``report_batch_item_failures``), a
handler returns ``{"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}``:
those messages are retried and the others are done. As on Lambda, an empty or missing
list means the whole batch succeeded, and a response that names an id not in the batch
(or no id) fails the whole batch.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
"""

from __future__ import annotations

from typing import Any


class InvalidBatchResponse(ValueError):
    """The response does not name messages of the batch: the whole batch failed."""


def is_sqs_batch(event: Any) -> bool:
    records: Any = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and all(
        isinstance(record, dict)
        and record.get("eventSource") == "aws:sqs"
        and isinstance(record.get("messageId"), str)
        for record in records
    )


def failed_ids(result: Any, batch_ids: list[str]) -> list[str]:
    """Return the ids the handler's result reports failed, in batch order."""
    if result is None:
        return []
    if not isinstance(result, dict):
        raise InvalidBatchResponse(f"the response is a {type(result).__name__}, not a dict")
    failures = result.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        raise InvalidBatchResponse("batchItemFailures is not a list")
    named = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            raise InvalidBatchResponse(
                f"itemIdentifier {identifier!r} is not a message of the batch"
            )
        named.add(identifier)
    return [identifier for identifier in batch_ids if identifier in named]
