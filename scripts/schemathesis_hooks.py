"""Schemathesis hooks for scripts/test-schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

`POST /import` takes its history file as `application/x-ndjson` (JSON Lines), a media type
schemathesis has no serializer for: it is text, so generated bodies go on the wire as text.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
