"""``/ingest/v1/``: log shippers' and agents' batch endpoint, a plain view (decision 0035).

Not the ninja API: the body is NDJSON (maybe gzip), read with a size bound, and the
credential is an ingest token or a device credential, never a session or API token.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tandem.core.actions import page
from tandem.core.policies import PUBLIC
from tandem.core.request import TandemRequest
from tandem.logs import ingest


def _answer(answer: ingest.Answer) -> HttpResponse:
    response = HttpResponse(
        orjson.dumps(answer.body), status=answer.status, content_type="application/json"
    )
    for name, value in answer.headers.items():
        response[name] = value
    return response


# ``PUBLIC`` as pages go: no session counts here; the handler checks the bearer credential.
@page(PUBLIC)
@csrf_exempt
@require_POST
def events(request: TandemRequest) -> HttpResponse:
    """Take one NDJSON batch: 200 with what was accepted and what refused per reason, 400
    when no line was usable, 413 over a limit, 429 (Retry-After) over quota or when the
    stream is busy (then nothing, or only the part named in ``accepted``, was taken). A
    batch named by ``Tandem-Batch-Id`` and sent again gets its first answer (marked
    ``Tandem-Batch-Replayed: true``) and is not appended twice (decision 0050)."""
    sender = ingest.authenticate(request.headers.get("Authorization", ""))
    if isinstance(sender, ingest.Answer):
        return _answer(sender)
    limit = settings.INGEST_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _answer(ingest.refusal(413, "too_large", f"The body is over {limit} bytes."))
    body = request.read(limit + 1)
    if len(body) > limit:
        return _answer(ingest.refusal(413, "too_large", f"The body is over {limit} bytes."))
    return _answer(
        ingest.take_batch(
            source=sender.source,
            device_id=sender.device_id,
            body=body,
            content_encoding=request.headers.get("Content-Encoding", ""),
            batch_id=request.headers.get("Tandem-Batch-Id"),
        )
    )
