"""One call layer for everything that calls out: bot variants (OpenAI-compatible, HTTP) and LLM judges.

* `limits`: concurrency, rate, timeouts, retries, Retry-After cap, reply size cap, call deadline;
* `failures`: what a failed call is (retried or final), with messages that are safe to store;
* `retry`: `Endpoint`, the retry policy and the fail-fast rule (`EndpointUnusable`);
* `http_client` / `openai_client`: size-capped HTTP and chat-completions clients;
* `redaction`: PII redaction of what is sent (`redact_pii: auto | true | false`);
* `secrets`: reading keys from the environment, scrubbing them from every error text, refusing
  a key pasted where a variable NAME is expected;
* `cost`: prices per model; `logs`: HTTP request lines at DEBUG.

See docs/calls.md.
"""
