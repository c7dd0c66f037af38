"""Fake upstreams for the boto3 provider legs: OpenAI, Anthropic, Gemini and AWS Bedrock on one port.

Standard library only. Each provider lives under its own path prefix and speaks that provider's
public wire format (JSON bodies, SSE framing, AWS event-stream framing, error shapes), checking the
credentials the gateway must send:

    /openai/v1/chat/completions                          Authorization: Bearer <key>
    /anthropic/v1/messages                               x-api-key, anthropic-version
    /gemini/v1beta/models/{model}:generateContent        x-goog-api-key
    /gemini/v1beta/models/{model}:streamGenerateContent?alt=sse
    /bedrock/model/{modelId}/converse                    Authorization: AWS4-HMAC-SHA256 ...
    /bedrock/model/{modelId}/converse-stream
    /bedrock/model/{modelId}/invoke
    /bedrock/model/{modelId}/invoke-with-response-stream
    /openai/v1/files[/{id}[/content]]                    OpenAI Files API (upload, get, content, delete)
    /gemini/upload/v1beta/files                          Gemini resumable upload (start, upload+finalize)
    /gemini/v1beta/files/{id}[:download]                 Gemini Files API (get, download, delete)
    /openai/v1/batches                                   OpenAI Batch API: create (POST), list (GET)
    /openai/v1/batches/{id}[/cancel]                       get (GET), cancel (POST)
    /gemini/v1beta/models/{model}:batchGenerateContent   Gemini Batch Mode: create (file or inlined)
    /gemini/v1beta/batches[/{id}[:cancel]]                 list, get, cancel (POST), delete
    /anthropic/v1/messages/batches                       Anthropic Message Batches: create, list
    /anthropic/v1/messages/batches/{id}[/cancel|/results]  get, cancel (POST), results, delete

Every provider answers as Quarry's built-in mock does, so the seeds' assertions hold on every leg:
it echoes the last user message's text (its text parts joined by a space), counts input tokens as
the whitespace-separated words of all user and system text (at least 1) and output tokens as the
words of the answer, and streams text in deltas of 8 characters.

Batches are answered, request by request, by the same logic as the live routes, when they are
created; what a client sees then moves one step on each GET of the batch, so a poller sees the
intermediate states and is done after a few polls:

    OpenAI     validating -> in_progress -> finalizing -> completed  (the output and error files are
               stored on completion, purpose batch_output; a request the chat logic rejects goes to
               the error file with its status code). An input file with invalid lines: validating
               -> failed, with `errors.data[]`. Cancel: cancelling, then cancelled.
    Gemini     PENDING -> RUNNING -> SUCCEEDED, as an Operation whose `metadata` is the
               GenerateContentBatch; when done, `response` (and `metadata.output`) holds
               `responsesFile` (a file for the Files API's :download) or `inlinedResponses`.
               Cancel: CANCELLED at once.
    Anthropic  in_progress -> in_progress (half done) -> ended; `results_url` then points at
               /results on this server. Cancel: canceling, then ended with the rest canceled.

The fail switch: a batch whose OpenAI `metadata` or Gemini display name contains `fake-fail-batch`
ends failed (OpenAI `failed` with `errors`, Gemini BATCH_STATE_FAILED with `error`); an Anthropic
batch with a custom_id `fake-fail-batch` ends with every request errored.

`GET /_requests` returns every request seen so far, per provider, as JSON, so a test can tell that
a call really reached the upstream; `GET /_files` returns the files the providers hold, and
`GET /_batches` their batches, each as it stands (without moving it on).

Usage: python fake_upstreams.py --port N   (0 picks a free port; the port is printed on the
first line of stdout either way).
"""

import argparse
import base64
import json
import re
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK_CHARS = 8

# The keys the gateway is configured with (overridable on the command line).
KEYS = {
    "openai": "fake-openai-key",
    "anthropic": "fake-anthropic-key",
    "gemini": "fake-gemini-key",
    "bedrock": "AKIAQUARRYFAKEUPSTRM",
}
# The region the gateway's bedrock provider signs for.
BEDROCK_REGION = ["us-west-2"]

LOG_LOCK = threading.Lock()
LOG = {"openai": [], "anthropic": [], "gemini": [], "bedrock": [], "unknown": []}

# The providers' file stores: id -> {"data", "filename", "content_type", "created"}.
FILES_LOCK = threading.Lock()
FILES = {"openai": {}, "gemini": {}}
# Gemini resumable sessions: session id -> the start request's declared length, type and name.
UPLOAD_SESSIONS = {}


def words(text):
    return len(text.split())


def chunks(text):
    return [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


def new_id(prefix):
    return prefix + uuid.uuid4().hex[:24]


class Reject(Exception):
    """A request the upstream refuses: status, headers and a JSON body in its own error shape."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


# --- Request bodies: the texts they carry ---------------------------------------------------------


def openai_text(content):
    """Chat Completions `content`: a string, or an array of content parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
    raise Reject(400, openai_error("Invalid type for 'messages[].content'.", "invalid_request_error", "messages"))


def anthropic_text(content):
    """Anthropic `content` / `system`: a string, or an array of content blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        out = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                out.append(block.get("text", ""))
            elif block.get("type") == "tool_result":
                out.extend(anthropic_text(block.get("content")))
        return out
    raise Reject(400, anthropic_error("invalid_request_error", "messages: content must be a string or an array"))


def converse_text(blocks):
    """Bedrock Converse content blocks (or system blocks)."""
    out = []
    for block in blocks or []:
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            out.append(block["text"])
    return out


def answer(last_user_parts, input_texts):
    """The echo and its token counts, as the mock provider computes them."""
    text = " ".join(last_user_parts)
    prompt = max(1, sum(words(t) for t in input_texts))
    return text, prompt, words(text)


# --- Error shapes ---------------------------------------------------------------------------------


def openai_file_object(file_id, entry):
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(entry["data"]),
        "created_at": entry["created"],
        "filename": entry["filename"],
        "purpose": entry.get("purpose", "batch"),
        "status": "processed",
    }


def gemini_file_object(name, entry):
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(entry["created"]))
    return {
        "name": name,
        "displayName": entry["filename"],
        "mimeType": entry["content_type"],
        "sizeBytes": str(len(entry["data"])),
        "createTime": created,
        "updateTime": created,
        "state": "ACTIVE",
        "uri": f"https://generativelanguage.googleapis.com/v1beta/{name}",
    }


def parse_multipart(content_type, raw):
    """A multipart/form-data body as ({field: text}, {field: (filename, content type, bytes)})."""
    boundary = content_type.partition("boundary=")[2].strip('"')
    if not boundary:
        return {}, {}
    fields, files = {}, {}
    for part in raw.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, body = part.partition(b"\r\n\r\n")
        body = body[:-2] if body.endswith(b"\r\n") else body
        headers = head.decode("utf-8", "replace")
        name = headers.partition('name="')[2].partition('"')[0]
        if 'filename="' in headers:
            filename = headers.partition('filename="')[2].partition('"')[0]
            ctype = "application/octet-stream"
            for line in headers.split("\r\n"):
                if line.lower().startswith("content-type:"):
                    ctype = line.split(":", 1)[1].strip()
            files[name] = (filename, ctype, body)
        else:
            fields[name] = body.decode("utf-8", "replace")
    return fields, files


def openai_error(message, kind, param=None, code=None):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def anthropic_error(kind, message):
    return {"type": "error", "error": {"type": kind, "message": message}}


def gemini_error(code, status, message):
    return {"error": {"code": code, "message": message, "status": status}}


def bedrock_reject(status, error_type, message):
    return Reject(status, {"message": message}, {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"})


# --- AWS event-stream framing ---------------------------------------------------------------------


def eventstream_header(name, value):
    name_bytes = name.encode()
    value_bytes = value.encode()
    # Header value type 7: a UTF-8 string with a 2-byte length.
    return bytes([len(name_bytes)]) + name_bytes + b"\x07" + len(value_bytes).to_bytes(2, "big") + value_bytes


def eventstream_message(event_type, payload):
    headers = (
        eventstream_header(":event-type", event_type)
        + eventstream_header(":content-type", "application/json")
        + eventstream_header(":message-type", "event")
    )
    body = json.dumps(payload, separators=(",", ":")).encode()
    total = 4 + 4 + 4 + len(headers) + len(body) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    prelude += zlib.crc32(prelude).to_bytes(4, "big")
    message = prelude + headers + body
    return message + zlib.crc32(message).to_bytes(4, "big")


def padding(n):
    """Bedrock pads stream event payloads with a `p` member of varying length."""
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[: 1 + n % 40]


# --- The providers' answers, shared by the live routes and the batches ----------------------------


def openai_chat(body):
    """Validates a Chat Completions request body and answers it: (model, text, usage); raises Reject."""
    model = body.get("model")
    messages = body.get("messages")
    if not isinstance(model, str) or not model:
        raise Reject(400, openai_error("you must provide a model parameter", "invalid_request_error"))
    if not isinstance(messages, list) or not messages:
        raise Reject(
            400, openai_error("[] is too short - 'messages'", "invalid_request_error", "messages", "empty_array")
        )
    inputs, last_user = [], None
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise Reject(
                400,
                openai_error(
                    f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                    "'tool', 'function' and 'developer'.",
                    "invalid_request_error",
                    f"messages[{i}].role",
                    "invalid_value",
                ),
            )
        texts = openai_text(m.get("content"))
        if role in ("system", "developer", "user"):
            inputs.extend(texts)
        if role == "user":
            last_user = texts
    text, prompt, completion = answer(last_user or [], inputs)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    return model, text, usage


def openai_completion(ident, created, model, text, usage):
    """A non-streamed `chat.completion` object."""
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": None,
    }


def anthropic_messages(body):
    """Validates a Messages request body and answers it: (model, text, output tokens, usage); raises Reject."""
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            raise Reject(400, anthropic_error("invalid_request_error", f"{field}: Field required"))
    model, messages = body["model"], body["messages"]
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise Reject(400, anthropic_error("invalid_request_error", "max_tokens: must be a positive integer"))
    if not isinstance(messages, list) or not messages:
        raise Reject(400, anthropic_error("invalid_request_error", "messages: at least one message is required"))
    inputs = list(anthropic_text(body.get("system")))
    last_user = None
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("user", "assistant"):
            raise Reject(
                400,
                anthropic_error("invalid_request_error", f"messages.{i}.role: Input should be 'user' or 'assistant'"),
            )
        if role == "user":
            texts = anthropic_text(m.get("content"))
            inputs.extend(texts)
            last_user = texts
    text, prompt, completion = answer(last_user or [], inputs)
    usage = {
        "input_tokens": prompt,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": completion,
        "service_tier": "standard",
    }
    return model, text, completion, usage


def anthropic_message(ident, model, text, usage):
    """A non-streamed Message object."""
    return {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def gemini_generate(body):
    """Validates a GenerateContentRequest body and answers it: (text, prompt tokens, answer tokens); raises Reject."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Reject(400, gemini_error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"))
    inputs = [p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []) if isinstance(p, dict)]
    last_user = None
    for content in contents:
        role = content.get("role", "user") if isinstance(content, dict) else None
        if role not in ("user", "model"):
            raise Reject(
                400,
                gemini_error(400, "INVALID_ARGUMENT", f"Please use a valid role: user, model. (got {role!r})"),
            )
        if role == "user":
            texts = [p["text"] for p in content.get("parts", []) if isinstance(p, dict) and isinstance(p.get("text"), str)]
            results = [
                json.dumps(p["functionResponse"].get("response", {}))
                for p in content.get("parts", [])
                if isinstance(p, dict) and isinstance(p.get("functionResponse"), dict)
            ]
            inputs.extend(texts + results)
            last_user = texts
    return answer(last_user or [], inputs)


def gemini_usage(prompt, candidates):
    """`usageMetadata`; `candidatesTokenCount` only when there are any."""
    u = {
        "promptTokenCount": prompt,
        "totalTokenCount": prompt + candidates,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if candidates:
        u["candidatesTokenCount"] = candidates
    return u


def gemini_response(version, response_id, text, prompt, completion):
    """A non-streamed GenerateContentResponse."""
    return {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": gemini_usage(prompt, completion),
        "modelVersion": version,
        "responseId": response_id,
    }


# --- Batches: state and shapes --------------------------------------------------------------------

# The providers' batches: id -> the batch's state (see the *_batch_view functions for what clients see).
BATCHES_LOCK = threading.Lock()
BATCHES = {"openai": {}, "anthropic": {}, "gemini": {}}
# A batch whose metadata (OpenAI), display name (Gemini) or custom_id (Anthropic) carries this fails.
FAIL_SWITCH = "fake-fail-batch"
GEMINI_BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
GEMINI_BATCH_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"


def rfc3339(t):
    """An RFC 3339 UTC timestamp with microseconds, as Anthropic and Google write them."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1_000_000) % 1_000_000:06d}Z"


def jsonl(items):
    return "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in items).encode()


def store_file(provider, file_id, filename, data, purpose=None):
    entry = {"data": data, "filename": filename, "content_type": "application/jsonl", "created": int(time.time())}
    if purpose:
        entry["purpose"] = purpose
    with FILES_LOCK:
        FILES[provider][file_id] = entry


# OpenAI -------------------------------------------------------------------------------------------


def openai_batch_input(data, endpoint):
    """An input file's requests [(custom_id, body)] and its validation errors (BatchError objects)."""
    requests, errors, seen = [], [], set()

    def error(code, message, line, param=None):
        errors.append({"code": code, "message": message, "param": param, "line": line})

    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            error("invalid_json_line", "This line is not parseable as valid JSON.", n)
            continue
        if not isinstance(item, dict):
            error("invalid_json_line", "This line is not a JSON object.", n)
            continue
        missing = [f for f in ("custom_id", "method", "url", "body") if f not in item]
        if missing:
            error("missing_required_parameter", f"Missing required parameter: '{missing[0]}'.", n, missing[0])
            continue
        custom_id = item["custom_id"]
        if not isinstance(custom_id, str) or not custom_id:
            error("invalid_custom_id", "'custom_id' must be a non-empty string.", n, "custom_id")
        elif custom_id in seen:
            error("duplicate_custom_id", f"The custom_id '{custom_id}' is used by more than one request.", n, "custom_id")
        elif item["method"] != "POST":
            error("invalid_method", f"Invalid method '{item['method']}': only POST is supported.", n, "method")
        elif item["url"] != endpoint:
            error(
                "mismatched_endpoint",
                f"The URL '{item['url']}' does not match the batch's endpoint '{endpoint}'.",
                n,
                "url",
            )
        elif not isinstance(item["body"], dict):
            error("invalid_body", "'body' must be a JSON object.", n, "body")
        else:
            seen.add(custom_id)
            requests.append((custom_id, item["body"]))
    if not requests and not errors:
        error("empty_file", "The batch input file is empty.", None)
    return requests, errors


def openai_batch_answer(custom_id, body):
    """One output line, answered by the chat-completions logic: (succeeded, line)."""
    try:
        model, text, usage = openai_chat(body)
        status, answer_body = 200, openai_completion(new_id("chatcmpl-"), int(time.time()), model, text, usage)
    except Reject as r:
        status, answer_body = r.status, r.body
    line = {
        "id": new_id("batch_req_"),
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": uuid.uuid4().hex, "body": answer_body},
        "error": None,
    }
    return status == 200, line


def openai_batch_view(b):
    view = dict(b["view"])
    view["request_counts"] = dict(view["request_counts"])
    return view


def openai_batch_step(b):
    """Moves a batch one step along its plan (one GET); the last states are sticky."""
    view, now = b["view"], int(time.time())
    status = view["status"]
    if status == "cancelling":
        view.update(status="cancelled", cancelled_at=now)
        return
    plan = b["plan"]
    if status not in plan or plan.index(status) == len(plan) - 1:
        return
    status = plan[plan.index(status) + 1]
    view["status"] = status
    total = len(b["results"])
    succeeded = sum(1 for ok, _ in b["results"] if ok)
    if status == "in_progress":
        view.update(in_progress_at=now, request_counts={"total": total, "completed": 0, "failed": 0})
        view["model"] = b["model"]
    elif status in ("finalizing", "completed"):
        view["request_counts"] = {"total": total, "completed": succeeded, "failed": total - succeeded}
        view[f"{status}_at"] = now
    if status == "completed":
        ok_lines = [line for ok, line in b["results"] if ok]
        failed_lines = [line for ok, line in b["results"] if not ok]
        if ok_lines:
            view["output_file_id"] = new_id("file-")
            store_file("openai", view["output_file_id"], f"{view['id']}_output.jsonl", jsonl(ok_lines), "batch_output")
        if failed_lines:
            view["error_file_id"] = new_id("file-")
            store_file("openai", view["error_file_id"], f"{view['id']}_error.jsonl", jsonl(failed_lines), "batch_output")
        tokens = [line["response"]["body"]["usage"] for ok, line in b["results"] if ok]
        prompt, completion = sum(u["prompt_tokens"] for u in tokens), sum(u["completion_tokens"] for u in tokens)
        view["usage"] = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
    if status == "failed":
        view["failed_at"] = now
        view["errors"] = {"object": "list", "data": b["errors"]}


# Gemini -------------------------------------------------------------------------------------------


def gemini_batch_answer(version, request):
    """A request answered by the generateContent logic: ("response", GenerateContentResponse) or ("error", Status)."""
    if not isinstance(request, dict):
        return "error", {"code": 400, "message": "Invalid request: `request` must be a GenerateContentRequest object.", "status": "INVALID_ARGUMENT"}
    try:
        text, prompt, completion = gemini_generate(request)
    except Reject as r:
        return "error", r.body["error"]
    return "response", gemini_response(version, uuid.uuid4().hex[:22], text, prompt, completion)


def gemini_batch_file_input(version, data):
    """A JSONL input file's answers: [(key or None, "response" | "error", payload)]."""
    results = []
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            error = {"code": 400, "message": "Invalid JSON line in the input file.", "status": "INVALID_ARGUMENT"}
            results.append((None, "error", error))
            continue
        # `{"key", "request"}`, or the inlined form `{"request", "metadata": {"key"}}`.
        key = item.get("key")
        if key is None and isinstance(item.get("metadata"), dict):
            key = item["metadata"].get("key")
        kind, payload = gemini_batch_answer(version, item.get("request"))
        results.append((key, kind, payload))
    return results


def gemini_batch_stats(b):
    """BatchStats, int64 as strings and zeros left out as proto3 JSON does."""
    total = len(b["results"])
    state = b["state"]
    if state == "BATCH_STATE_SUCCEEDED":
        ok = sum(1 for _, kind, _ in b["results"] if kind == "response")
        counts = {"requestCount": total, "successfulRequestCount": ok, "failedRequestCount": total - ok}
    elif state == "BATCH_STATE_FAILED":
        counts = {"requestCount": total, "failedRequestCount": total}
    elif state == "BATCH_STATE_CANCELLED":
        counts = {"requestCount": total}
    else:
        counts = {"requestCount": total, "pendingRequestCount": total}
    return {k: str(v) for k, v in counts.items() if v}


def gemini_batch_view(b):
    """The batch as a long-running Operation: GenerateContentBatch metadata; `response` or `error` once done."""
    meta = {
        "@type": GEMINI_BATCH_TYPE,
        "model": b["model"],
        "displayName": b["display_name"],
        "inputConfig": b["input_config"],
        "createTime": rfc3339(b["created"]),
        "updateTime": rfc3339(b["updated"]),
        "batchStats": gemini_batch_stats(b),
        "state": b["state"],
        "name": b["name"],
    }
    op = {"name": b["name"], "metadata": meta}
    if b["ended"] is not None:
        meta["endTime"] = rfc3339(b["ended"])
        op["done"] = True
    if b["state"] == "BATCH_STATE_SUCCEEDED":
        meta["output"] = json.loads(json.dumps(b["output"]))
        op["response"] = dict({"@type": GEMINI_BATCH_OUTPUT_TYPE}, **json.loads(json.dumps(b["output"])))
    elif b["state"] == "BATCH_STATE_FAILED":
        op["error"] = {"code": 13, "message": f"Batch {b['name']} failed ({FAIL_SWITCH})."}
    elif b["state"] == "BATCH_STATE_CANCELLED":
        op["error"] = {"code": 1, "message": f"Batch {b['name']} was cancelled."}
    return op


def gemini_batch_step(b):
    """PENDING -> RUNNING -> SUCCEEDED (FAILED with the fail switch); the end states are sticky."""
    now = time.time()
    if b["state"] == "BATCH_STATE_PENDING":
        b["state"] = "BATCH_STATE_RUNNING"
    elif b["state"] == "BATCH_STATE_RUNNING":
        b["ended"] = now
        if b["fail"]:
            b["state"] = "BATCH_STATE_FAILED"
        else:
            b["state"] = "BATCH_STATE_SUCCEEDED"
            if b["source"] == "file":
                name = f"files/batch-{b['name'].split('/', 1)[1]}"
                lines = [dict(({"key": key} if key is not None else {}), **{kind: payload}) for key, kind, payload in b["results"]]
                store_file("gemini", name, f"batch-{b['name'].split('/', 1)[1]}-responses", jsonl(lines))
                b["output"] = {"responsesFile": name}
            else:
                inlined = [
                    dict(({"metadata": md} if md is not None else {}), **{kind: payload}) for md, kind, payload in b["results"]
                ]
                b["output"] = {"inlinedResponses": {"inlinedResponses": inlined}}
    else:
        return
    b["updated"] = now


# Anthropic ----------------------------------------------------------------------------------------


def anthropic_batch_answer(params, fail):
    """One request's result, answered by the Messages logic."""
    if fail:
        return {"type": "errored", "error": anthropic_error("api_error", f"The batch failed ({FAIL_SWITCH}).")}
    try:
        model, text, _, usage = anthropic_messages(params)
    except Reject as r:
        return {"type": "errored", "error": r.body}
    return {"type": "succeeded", "message": anthropic_message(new_id("msg_01"), model, text, usage)}


def anthropic_batch_results(b):
    """The results as they stand: requests not yet processed when a cancel ended the batch are canceled."""
    return [
        (custom_id, result if i < b["processed"] else {"type": "canceled"})
        for i, (custom_id, result) in enumerate(b["results"])
    ]


def anthropic_batch_view(b, host):
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for i, (_, result) in enumerate(b["results"]):
        if i < b["processed"]:
            counts[result["type"]] += 1
        elif b["status"] == "ended":
            counts["canceled"] += 1
        else:
            counts["processing"] += 1
    ended = b["status"] == "ended"
    return {
        "id": b["id"],
        "type": "message_batch",
        "processing_status": b["status"],
        "request_counts": counts,
        "ended_at": rfc3339(b["ended"]) if ended else None,
        "created_at": rfc3339(b["created"]),
        "expires_at": rfc3339(b["created"] + 86400),
        "archived_at": None,
        "cancel_initiated_at": rfc3339(b["cancel_initiated"]) if b["cancel_initiated"] else None,
        "results_url": f"http://{host}/anthropic/v1/messages/batches/{b['id']}/results" if ended else None,
    }


def anthropic_batch_step(b):
    """in_progress (nothing done) -> in_progress (half done) -> ended; a cancel ends it on the next step."""
    total = len(b["results"])
    if b["status"] == "canceling":
        b["status"], b["ended"] = "ended", time.time()
    elif b["status"] == "in_progress":
        b["steps"] += 1
        if b["steps"] == 1:
            b["processed"] = total // 2
        else:
            b["processed"], b["status"], b["ended"] = total, "ended", time.time()


# --- The server -----------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstreams/1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        if self.server.verbose:
            super().log_message(format, *args)

    # Plumbing -------------------------------------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self, content_type, headers=None):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def write_chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def record(self, provider, path, status, **extra):
        entry = {"method": self.command, "path": path, "status": status}
        entry.update(extra)
        with LOG_LOCK:
            LOG.setdefault(provider, []).append(entry)

    # Dispatch -------------------------------------------------------------------------------------

    def do_GET(self):
        if self.path == "/_requests":
            with LOG_LOCK:
                snapshot = json.loads(json.dumps(LOG))
            self.send_json(200, snapshot)
            return
        if self.path == "/_files":
            with FILES_LOCK:
                stored = {
                    provider: {
                        file_id: {
                            "filename": e["filename"],
                            "content_type": e["content_type"],
                            "data": e["data"].decode("utf-8", "replace"),
                        }
                        for file_id, e in files.items()
                    }
                    for provider, files in FILES.items()
                }
            self.send_json(200, stored)
            return
        if self.path == "/_batches":
            host = self.headers.get("Host", "127.0.0.1")
            with BATCHES_LOCK:
                snapshot = {
                    "openai": {i: openai_batch_view(b) for i, b in BATCHES["openai"].items()},
                    "anthropic": {i: anthropic_batch_view(b, host) for i, b in BATCHES["anthropic"].items()},
                    "gemini": {i: gemini_batch_view(b) for i, b in BATCHES["gemini"].items()},
                }
            self.send_json(200, snapshot)
            return
        if self.files_api(b"") or self.batches_api(b""):
            return
        self.read_body()
        self.record("unknown", self.path, 404)
        self.send_json(404, {"message": f"no such route: GET {self.path}"})

    def do_DELETE(self):
        raw = self.read_body()
        if self.files_api(raw) or self.batches_api(raw):
            return
        self.record("unknown", self.path, 404)
        self.send_json(404, {"message": f"no such route: DELETE {self.path}"})

    def do_POST(self):
        raw = self.read_body()
        if self.files_api(raw) or self.batches_api(raw):
            return
        url = urlsplit(self.path)
        routes = (
            ("/openai/", "openai", self.openai),
            ("/anthropic/", "anthropic", self.anthropic),
            ("/gemini/", "gemini", self.gemini),
            ("/bedrock/", "bedrock", self.bedrock),
        )
        for prefix, provider, handler in routes:
            if url.path.startswith(prefix):
                try:
                    detail = handler(url, raw) or {}
                    self.record(provider, self.path, 200, **detail)
                except Reject as r:
                    self.record(provider, self.path, r.status, error=r.body)
                    self.send_json(r.status, r.body, r.headers)
                except (BrokenPipeError, ConnectionResetError):
                    self.record(provider, self.path, 499)
                return
        self.record("unknown", self.path, 404)
        self.send_json(404, {"message": f"no such route: POST {self.path}"})

    def json_body(self, raw, reject):
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise reject(f"the request body is not valid JSON: {e}") from None
        if not isinstance(body, dict):
            raise reject("the request body must be a JSON object")
        return body

    # The providers' credential checks, shared by their chat and batch routes ---------------------

    def openai_auth(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise Reject(
                401,
                openai_error(
                    "You didn't provide an API key. You need to provide your API key in an Authorization header "
                    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                ),
            )
        if auth[len("Bearer ") :] != KEYS["openai"]:
            raise Reject(
                401,
                openai_error("Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"),
            )

    def anthropic_auth(self):
        key = self.headers.get("x-api-key")
        if key is None:
            raise Reject(401, anthropic_error("authentication_error", "x-api-key header is required"))
        if key != KEYS["anthropic"]:
            raise Reject(401, anthropic_error("authentication_error", "invalid x-api-key"))
        if not self.headers.get("anthropic-version"):
            raise Reject(400, anthropic_error("invalid_request_error", "anthropic-version: header is required"))

    def gemini_auth(self):
        key = self.headers.get("x-goog-api-key")
        if key is None:
            raise Reject(
                403,
                gemini_error(
                    403,
                    "PERMISSION_DENIED",
                    "Method doesn't allow unregistered callers (callers without established identity). "
                    "Please use API Key or other form of API consumer identity to call this API.",
                ),
            )
        if key != KEYS["gemini"]:
            raise Reject(400, gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."))

    # OpenAI Chat Completions ----------------------------------------------------------------------

    def openai(self, url, raw):
        if url.path != "/openai/v1/chat/completions":
            raise Reject(404, openai_error(f"Invalid URL (POST {url.path})", "invalid_request_error"))
        self.openai_auth()
        body = self.json_body(raw, lambda m: Reject(400, openai_error(m, "invalid_request_error")))
        model, text, usage = openai_chat(body)
        ident, created = new_id("chatcmpl-"), int(time.time())
        headers = {"x-request-id": new_id("req_"), "openai-processing-ms": "1"}
        if not body.get("stream"):
            self.send_json(200, openai_completion(ident, created, model, text, usage), headers)
            return {"stream": False, "model": model}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta, finish=None, choices=True):
            c = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
            }
            if include_usage:
                c["usage"] = None
            return c

        def send(obj):
            self.write_chunk("data: " + json.dumps(obj, separators=(",", ":")) + "\n\n")

        self.start_stream("text/event-stream; charset=utf-8", headers)
        send(chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece in chunks(text):
            if piece:
                send(chunk({"content": piece}))
        send(chunk({}, "stop"))
        if include_usage:
            last = chunk({}, choices=False)
            last["usage"] = usage
            send(last)
        self.write_chunk("data: [DONE]\n\n")
        self.end_stream()
        return {"stream": True, "model": model}

    # Anthropic Messages ---------------------------------------------------------------------------

    def anthropic(self, url, raw):
        if url.path != "/anthropic/v1/messages":
            raise Reject(404, anthropic_error("not_found_error", "Not Found"))
        self.anthropic_auth()
        body = self.json_body(raw, lambda m: Reject(400, anthropic_error("invalid_request_error", m)))
        model, text, completion, usage = anthropic_messages(body)
        ident = new_id("msg_01")
        headers = {"request-id": new_id("req_01"), "anthropic-organization-id": "00000000-0000-0000-0000-000000000000"}
        if not body.get("stream"):
            self.send_json(200, anthropic_message(ident, model, text, usage), headers)
            return {"stream": False, "model": model}

        def send(event, data):
            self.write_chunk(f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n")

        self.start_stream("text/event-stream; charset=utf-8", headers)
        send(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": dict(usage, output_tokens=1),
                },
            },
        )
        send("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        send("ping", {"type": "ping"})
        for piece in chunks(text):
            if piece:
                send(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                )
        send("content_block_stop", {"type": "content_block_stop", "index": 0})
        send(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": completion},
            },
        )
        send("message_stop", {"type": "message_stop"})
        self.end_stream()
        return {"stream": True, "model": model}

    # Files APIs (OpenAI, Gemini) ------------------------------------------------------------------

    def files_api(self, raw):
        """Serves the providers' file APIs; False when the request is for something else."""
        url = urlsplit(self.path)
        path = url.path
        if path == "/openai/v1/files" or path.startswith("/openai/v1/files/"):
            provider, handler = "openai", self.openai_files
        elif path.startswith(("/gemini/upload/v1beta/files", "/gemini/v1beta/files")):
            provider, handler = "gemini", self.gemini_files
        else:
            return False
        try:
            status, body, headers = handler(url, raw)
            self.record(provider, self.path, status)
            if isinstance(body, bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_json(status, body, headers)
        except Reject as r:
            self.record(provider, self.path, r.status, error=r.body)
            self.send_json(r.status, r.body, r.headers)
        return True

    def openai_files(self, url, raw):
        auth = self.headers.get("Authorization", "")
        if auth != f"Bearer {KEYS['openai']}":
            raise Reject(401, openai_error("Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"))
        rest = url.path[len("/openai/v1/files") :].strip("/")
        if self.command == "POST" and not rest:
            fields, files = parse_multipart(self.headers.get("Content-Type", ""), raw)
            if fields.get("purpose") != "batch" or "file" not in files:
                raise Reject(400, openai_error("'purpose' must be batch and 'file' is required", "invalid_request_error"))
            filename, content_type, data = files["file"]
            file_id = new_id("file-")
            entry = {"data": data, "filename": filename, "content_type": content_type, "created": int(time.time())}
            with FILES_LOCK:
                FILES["openai"][file_id] = entry
            return 200, openai_file_object(file_id, entry), None
        file_id, _, tail = rest.partition("/")
        with FILES_LOCK:
            entry = FILES["openai"].get(file_id)
        if entry is None:
            raise Reject(404, openai_error(f"No such File object: {file_id}", "invalid_request_error", "id"))
        if self.command == "GET" and tail == "content":
            return 200, entry["data"], None
        if self.command == "GET" and not tail:
            return 200, openai_file_object(file_id, entry), None
        if self.command == "DELETE" and not tail:
            with FILES_LOCK:
                FILES["openai"].pop(file_id, None)
            return 200, {"id": file_id, "object": "file", "deleted": True}, None
        raise Reject(404, openai_error(f"Invalid URL ({self.command} {url.path})", "invalid_request_error"))

    def gemini_files(self, url, raw):
        if self.headers.get("x-goog-api-key") != KEYS["gemini"] and "upload_id" not in parse_qs(url.query):
            raise Reject(400, gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."))
        if url.path == "/gemini/upload/v1beta/files" and self.command == "POST":
            command = self.headers.get("x-goog-upload-command", "")
            if command == "start":
                session = uuid.uuid4().hex
                meta = json.loads(raw or b"{}").get("file", {})
                UPLOAD_SESSIONS[session] = {
                    "length": int(self.headers.get("x-goog-upload-header-content-length", "-1")),
                    "content_type": self.headers.get("x-goog-upload-header-content-type", "application/octet-stream"),
                    "display_name": meta.get("display_name") or meta.get("displayName") or "",
                }
                host = self.headers.get("Host")
                location = f"http://{host}/gemini/upload/v1beta/files?upload_id={session}"
                return 200, {}, {"x-goog-upload-url": location, "x-goog-upload-status": "active"}
            session = parse_qs(url.query).get("upload_id", [""])[0]
            started = UPLOAD_SESSIONS.pop(session, None)
            if started is None or command != "upload, finalize" or self.headers.get("x-goog-upload-offset") != "0":
                raise Reject(400, gemini_error(400, "INVALID_ARGUMENT", "unknown upload session or command"))
            if started["length"] != len(raw):
                raise Reject(400, gemini_error(400, "INVALID_ARGUMENT", "the upload's length is not the declared one"))
            name = f"files/{uuid.uuid4().hex[:12]}"
            entry = {
                "data": raw,
                "filename": started["display_name"],
                "content_type": started["content_type"],
                "created": int(time.time()),
            }
            with FILES_LOCK:
                FILES["gemini"][name] = entry
            return 200, {"file": gemini_file_object(name, entry)}, None
        rest = url.path[len("/gemini/v1beta/files/") :] if url.path.startswith("/gemini/v1beta/files/") else ""
        name_part, _, method = rest.partition(":")
        name = f"files/{unquote(name_part)}"
        with FILES_LOCK:
            entry = FILES["gemini"].get(name)
        if entry is None:
            raise Reject(404, gemini_error(404, "NOT_FOUND", f"File {name} not found."))
        if self.command == "GET" and method == "download":
            return 200, entry["data"], None
        if self.command == "GET" and not method:
            return 200, gemini_file_object(name, entry), None
        if self.command == "DELETE" and not method:
            with FILES_LOCK:
                FILES["gemini"].pop(name, None)
            return 200, {}, None
        raise Reject(404, gemini_error(404, "NOT_FOUND", f"Invalid URL: {url.path}"))

    # Batch APIs (OpenAI, Gemini, Anthropic) -------------------------------------------------------

    def batches_api(self, raw):
        """Serves the providers' batch APIs; False when the request is for something else."""
        url = urlsplit(self.path)
        path = url.path
        if path == "/openai/v1/batches" or path.startswith("/openai/v1/batches/"):
            provider, handler = "openai", self.openai_batches
        elif path == "/anthropic/v1/messages/batches" or path.startswith("/anthropic/v1/messages/batches/"):
            provider, handler = "anthropic", self.anthropic_batches
        elif (
            path == "/gemini/v1beta/batches"
            or path.startswith("/gemini/v1beta/batches/")
            or (path.startswith("/gemini/v1beta/models/") and path.endswith(":batchGenerateContent"))
        ):
            provider, handler = "gemini", self.gemini_batches
        else:
            return False
        try:
            status, body, headers = handler(url, raw)
            self.record(provider, self.path, status)
            if isinstance(body, bytes):
                self.send_response(status)
                self.send_header("Content-Type", (headers or {}).get("Content-Type", "application/octet-stream"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_json(status, body, headers)
        except Reject as r:
            self.record(provider, self.path, r.status, error=r.body)
            self.send_json(r.status, r.body, r.headers)
        return True

    def openai_batches(self, url, raw):
        self.openai_auth()
        rest = url.path[len("/openai/v1/batches") :].strip("/")
        invalid = lambda m, param=None, code=None: Reject(400, openai_error(m, "invalid_request_error", param, code))  # noqa: E731
        if self.command == "POST" and not rest:
            body = self.json_body(raw, invalid)
            file_id, endpoint = body.get("input_file_id"), body.get("endpoint")
            window, metadata = body.get("completion_window"), body.get("metadata")
            for field in ("input_file_id", "endpoint", "completion_window"):
                if not isinstance(body.get(field), str) or not body[field]:
                    raise invalid(f"Missing required parameter: '{field}'.", field, "missing_required_parameter")
            if endpoint not in ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions"):
                raise invalid(
                    f"Invalid value: '{endpoint}'. Supported values are: '/v1/responses', '/v1/chat/completions', "
                    "'/v1/embeddings' and '/v1/completions'.",
                    "endpoint",
                    "invalid_value",
                )
            if endpoint != "/v1/chat/completions":
                raise invalid(f"This fake serves '/v1/chat/completions' batches only, not '{endpoint}'.", "endpoint")
            if window != "24h":
                raise invalid(f"Invalid value: '{window}'. Supported values are: '24h'.", "completion_window", "invalid_value")
            if metadata is not None and not (
                isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
            ):
                raise invalid("Invalid type for 'metadata': expected an object of strings.", "metadata", "invalid_type")
            with FILES_LOCK:
                entry = FILES["openai"].get(file_id)
            if entry is None:
                raise invalid(f"Invalid 'input_file_id': no such File object: {file_id}.", "input_file_id")
            requests, errors = openai_batch_input(entry["data"], endpoint)
            results = [] if errors else [openai_batch_answer(custom_id, b) for custom_id, b in requests]
            fail = FAIL_SWITCH in json.dumps(metadata or {})
            if errors:
                plan = ["validating", "failed"]
            elif fail:
                plan = ["validating", "in_progress", "failed"]
                errors = [{"code": "batch_failed", "message": f"The batch failed ({FAIL_SWITCH}).", "param": None, "line": None}]
            else:
                plan = ["validating", "in_progress", "finalizing", "completed"]
            created = int(time.time())
            batch_id = new_id("batch_")
            view = {
                "id": batch_id,
                "object": "batch",
                "endpoint": endpoint,
                "model": None,
                "errors": None,
                "input_file_id": file_id,
                "completion_window": window,
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": created,
                "in_progress_at": None,
                "expires_at": created + 86400,
                "finalizing_at": None,
                "completed_at": None,
                "failed_at": None,
                "expired_at": None,
                "cancelling_at": None,
                "cancelled_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "usage": None,
                "metadata": metadata,
            }
            model = next((b.get("model") for _, b in requests if isinstance(b.get("model"), str)), None)
            batch = {"view": view, "plan": plan, "results": results, "errors": errors, "model": model}
            with BATCHES_LOCK:
                BATCHES["openai"][batch_id] = batch
                return 200, openai_batch_view(batch), None
        if self.command == "GET" and not rest:
            query = parse_qs(url.query)
            try:
                limit = int(query.get("limit", ["20"])[0])
            except ValueError:
                raise invalid("Invalid 'limit': expected an integer.", "limit", "invalid_type") from None
            if not 1 <= limit <= 100:
                raise invalid("Invalid 'limit': must be between 1 and 100.", "limit", "integer_out_of_range")
            with BATCHES_LOCK:
                views = [openai_batch_view(b) for b in reversed(list(BATCHES["openai"].values()))]
            after = query.get("after", [None])[0]
            if after is not None:
                ids = [v["id"] for v in views]
                views = views[ids.index(after) + 1 :] if after in ids else []
            page = views[:limit]
            return 200, {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(views) > limit,
            }, None
        batch_id, _, tail = rest.partition("/")
        with BATCHES_LOCK:
            batch = BATCHES["openai"].get(batch_id)
            if batch is None:
                raise Reject(404, openai_error(f"No batch found with id '{batch_id}'.", "invalid_request_error", None, "not_found"))
            view = batch["view"]
            if self.command == "GET" and not tail:
                openai_batch_step(batch)
                return 200, openai_batch_view(batch), None
            if self.command == "POST" and tail == "cancel":
                if view["status"] in ("validating", "in_progress", "finalizing"):
                    view.update(status="cancelling", cancelling_at=int(time.time()))
                elif view["status"] not in ("cancelling", "cancelled"):
                    raise Reject(
                        409,
                        openai_error(f"Cannot cancel a batch with status '{view['status']}'.", "invalid_request_error"),
                    )
                return 200, openai_batch_view(batch), None
        raise Reject(404, openai_error(f"Invalid URL ({self.command} {url.path})", "invalid_request_error"))

    def gemini_batches(self, url, raw):
        self.gemini_auth()
        path = url.path
        invalid = lambda m: Reject(400, gemini_error(400, "INVALID_ARGUMENT", m))  # noqa: E731
        if path.endswith(":batchGenerateContent"):
            if self.command != "POST":
                raise Reject(404, gemini_error(404, "NOT_FOUND", f"Invalid URL: {path}"))
            model = unquote(path[len("/gemini/v1beta/models/") :].rsplit(":", 1)[0])
            body = self.json_body(raw, invalid)
            batch = body.get("batch")
            if not isinstance(batch, dict):
                raise invalid("* BatchGenerateContentRequest.batch: batch is required")
            display = batch.get("displayName", batch.get("display_name")) or ""
            config = batch.get("inputConfig", batch.get("input_config"))
            if not isinstance(config, dict):
                raise invalid("* GenerateContentBatch.input_config: input_config is required")
            file_name = config.get("fileName", config.get("file_name"))
            inlined = config.get("requests")
            if (file_name is None) == (inlined is None):
                raise invalid("* InputConfig.source: exactly one of file_name and requests must be set")
            version = model.split("/")[-1]
            if file_name is not None:
                with FILES_LOCK:
                    entry = FILES["gemini"].get(file_name)
                if entry is None:
                    raise invalid(f"* InputConfig.file_name: File {file_name} not found.")
                results = gemini_batch_file_input(version, entry["data"])
                source, input_config = "file", {"fileName": file_name}
            else:
                items = inlined.get("requests") if isinstance(inlined, dict) else None
                if not isinstance(items, list) or not items:
                    raise invalid("* InputConfig.requests.requests: at least one request is required")
                results = []
                for i, item in enumerate(items):
                    if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
                        raise invalid(f"* InlinedRequests.requests[{i}].request: request is required")
                    kind, payload = gemini_batch_answer(version, item["request"])
                    results.append((item.get("metadata"), kind, payload))
                source, input_config = "inline", {"requests": {"requests": items}}
            now = time.time()
            name = f"batches/{uuid.uuid4().hex[:24]}"
            state = {
                "name": name,
                "model": f"models/{model}" if not model.startswith("models/") else model,
                "display_name": display,
                "input_config": input_config,
                "source": source,
                "results": results,
                "fail": FAIL_SWITCH in display,
                "state": "BATCH_STATE_PENDING",
                "created": now,
                "updated": now,
                "ended": None,
                "output": None,
            }
            with BATCHES_LOCK:
                BATCHES["gemini"][name] = state
                return 200, gemini_batch_view(state), None
        if path == "/gemini/v1beta/batches" and self.command == "GET":
            query = parse_qs(url.query)
            try:
                size = int(query.get("pageSize", ["50"])[0]) or 50
                start = int(query.get("pageToken", ["0"])[0] or 0)
            except ValueError:
                raise invalid("Invalid pageSize or pageToken.") from None
            with BATCHES_LOCK:
                ops = [gemini_batch_view(b) for b in reversed(list(BATCHES["gemini"].values()))]
            page = {"operations": ops[start : start + size]}
            if start + size < len(ops):
                page["nextPageToken"] = str(start + size)
            return 200, page, None
        rest = path[len("/gemini/v1beta/batches/") :] if path.startswith("/gemini/v1beta/batches/") else ""
        id_part, _, method = rest.partition(":")
        name = f"batches/{unquote(id_part)}"
        with BATCHES_LOCK:
            batch = BATCHES["gemini"].get(name)
            if batch is None:
                raise Reject(404, gemini_error(404, "NOT_FOUND", f"Batch {name} not found."))
            if self.command == "GET" and not method:
                gemini_batch_step(batch)
                return 200, gemini_batch_view(batch), None
            if self.command == "POST" and method == "cancel":
                if batch["state"] in ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"):
                    batch["state"] = "BATCH_STATE_CANCELLED"
                    batch["updated"] = batch["ended"] = time.time()
                elif batch["state"] != "BATCH_STATE_CANCELLED":
                    raise Reject(
                        400,
                        gemini_error(400, "FAILED_PRECONDITION", f"Batch {name} has already ended ({batch['state']})."),
                    )
                return 200, {}, None
            if self.command == "DELETE" and not method:
                del BATCHES["gemini"][name]
                return 200, {}, None
        raise Reject(404, gemini_error(404, "NOT_FOUND", f"Invalid URL: {path}"))

    def anthropic_batches(self, url, raw):
        self.anthropic_auth()
        invalid = lambda m: Reject(400, anthropic_error("invalid_request_error", m))  # noqa: E731
        host = self.headers.get("Host", "127.0.0.1")
        rest = url.path[len("/anthropic/v1/messages/batches") :].strip("/")
        if self.command == "POST" and not rest:
            body = self.json_body(raw, invalid)
            requests = body.get("requests")
            if not isinstance(requests, list) or not requests:
                raise invalid("requests: Field required" if "requests" not in body else "requests: at least one request is required")
            seen = set()
            for i, item in enumerate(requests):
                custom_id = item.get("custom_id") if isinstance(item, dict) else None
                if not isinstance(custom_id, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", custom_id):
                    raise invalid(f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
                if not isinstance(item.get("params"), dict):
                    raise invalid(f"requests.{i}.params: Field required")
                if custom_id in seen:
                    raise invalid(f"requests.{i}.custom_id: custom_id '{custom_id}' is not unique within the batch")
                seen.add(custom_id)
            fail = FAIL_SWITCH in seen
            now = time.time()
            batch = {
                "id": new_id("msgbatch_01"),
                "results": [(item["custom_id"], anthropic_batch_answer(item["params"], fail)) for item in requests],
                "status": "in_progress",
                "steps": 0,
                "processed": 0,
                "created": now,
                "ended": None,
                "cancel_initiated": None,
            }
            with BATCHES_LOCK:
                BATCHES["anthropic"][batch["id"]] = batch
                return 200, anthropic_batch_view(batch, host), None
        if self.command == "GET" and not rest:
            query = parse_qs(url.query)
            try:
                limit = int(query.get("limit", ["20"])[0])
            except ValueError:
                raise invalid("limit: Input should be a valid integer") from None
            if not 1 <= limit <= 1000:
                raise invalid("limit: Input should be between 1 and 1000")
            with BATCHES_LOCK:
                views = [anthropic_batch_view(b, host) for b in reversed(list(BATCHES["anthropic"].values()))]
            ids = [v["id"] for v in views]
            after, before = query.get("after_id", [None])[0], query.get("before_id", [None])[0]
            if after is not None:
                views = views[ids.index(after) + 1 :] if after in ids else []
                page = views[:limit]
            elif before is not None:
                views = views[: ids.index(before)] if before in ids else []
                page = views[-limit:]
            else:
                page = views[:limit]
            return 200, {
                "data": page,
                "has_more": len(views) > limit,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            }, None
        batch_id, _, tail = rest.partition("/")
        with BATCHES_LOCK:
            batch = BATCHES["anthropic"].get(batch_id)
            if batch is None:
                raise Reject(404, anthropic_error("not_found_error", f"Message Batch {batch_id} not found."))
            if self.command == "GET" and not tail:
                anthropic_batch_step(batch)
                return 200, anthropic_batch_view(batch, host), None
            if self.command == "POST" and tail == "cancel":
                if batch["status"] == "in_progress":
                    batch["status"], batch["cancel_initiated"] = "canceling", time.time()
                return 200, anthropic_batch_view(batch, host), None
            if self.command == "GET" and tail == "results":
                if batch["status"] != "ended":
                    raise invalid(f"Message Batch {batch_id} has not yet ended processing; its results are not available.")
                lines = [{"custom_id": c, "result": r} for c, r in anthropic_batch_results(batch)]
                return 200, jsonl(lines), {"Content-Type": "application/binary"}
            if self.command == "DELETE" and not tail:
                if batch["status"] != "ended":
                    raise invalid(f"Message Batch {batch_id} is still processing; cancel it before deleting it.")
                del BATCHES["anthropic"][batch_id]
                return 200, {"id": batch_id, "type": "message_batch_deleted"}, None
        raise Reject(404, anthropic_error("not_found_error", "Not Found"))

    # Gemini generateContent -----------------------------------------------------------------------

    def gemini(self, url, raw):
        prefix = "/gemini/v1beta/models/"
        raw_path = url.path
        if not raw_path.startswith(prefix) or ":" not in raw_path[len(prefix) :]:
            raise Reject(404, gemini_error(404, "NOT_FOUND", f"Invalid URL: {raw_path}"))
        # The model id is percent-encoded, so the method follows the last literal ':'.
        model_part, method = raw_path[len(prefix) :].rsplit(":", 1)
        model = unquote(model_part)
        if method not in ("generateContent", "streamGenerateContent"):
            raise Reject(404, gemini_error(404, "NOT_FOUND", f"Method not found: {method}"))
        self.gemini_auth()
        body = self.json_body(raw, lambda m: Reject(400, gemini_error(400, "INVALID_ARGUMENT", m)))
        text, prompt, completion = gemini_generate(body)
        response_id = uuid.uuid4().hex[:22]
        version = model.split("/")[-1]
        if method == "generateContent":
            self.send_json(200, gemini_response(version, response_id, text, prompt, completion))
            return {"stream": False, "model": model}
        if parse_qs(url.query).get("alt") != ["sse"]:
            # Without alt=sse the API answers one JSON array; the adapter is expected to ask for SSE.
            raise Reject(400, gemini_error(400, "INVALID_ARGUMENT", "this fake serves streamGenerateContent with alt=sse only"))
        self.start_stream("text/event-stream")
        pieces = [p for p in chunks(text) if p] or [""]
        for i, piece in enumerate(pieces):
            candidate = {"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}
            last = i == len(pieces) - 1
            if last:
                candidate["finishReason"] = "STOP"
            event = {
                "candidates": [candidate],
                # Every chunk carries the prompt's usage; the last one the totals.
                "usageMetadata": gemini_usage(prompt, completion if last else 0),
                "modelVersion": version,
                "responseId": response_id,
            }
            self.write_chunk("data: " + json.dumps(event, separators=(",", ":")) + "\r\n\r\n")
        self.end_stream()
        return {"stream": True, "model": model}

    # AWS Bedrock Runtime --------------------------------------------------------------------------

    def bedrock(self, url, raw):
        parts = url.path.split("/")
        # ['', 'bedrock', 'model', '{modelId}', '{operation}']
        if len(parts) != 5 or parts[2] != "model":
            raise bedrock_reject(404, "UnknownOperationException", "Unknown operation")
        model, operation = unquote(parts[3]), parts[4]
        auth = self.headers.get("Authorization")
        if not auth:
            raise bedrock_reject(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        expected = f"AWS4-HMAC-SHA256 Credential={KEYS['bedrock']}/"
        if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
            raise bedrock_reject(403, "IncompleteSignatureException", "Authorization header requires a SigV4 signature")
        if not auth.startswith(expected):
            raise bedrock_reject(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        scope = auth[len(expected) :].split(",", 1)[0].split("/")
        if len(scope) != 4 or scope[2] != "bedrock" or scope[3] != "aws4_request":
            raise bedrock_reject(403, "InvalidSignatureException", f"Credential should be scoped to a valid service: {'/'.join(scope)}")
        if scope[1] != BEDROCK_REGION[0]:
            raise bedrock_reject(
                403, "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{scope[1]}'."
            )
        if "SignedHeaders=" not in auth or "Signature=" not in auth or not self.headers.get("X-Amz-Date"):
            raise bedrock_reject(
                403,
                "IncompleteSignatureException",
                "Authorization header requires 'SignedHeaders' and 'Signature' parameters and an X-Amz-Date header.",
            )
        request_id = str(uuid.uuid4())
        invalid = lambda m: bedrock_reject(400, "ValidationException", m)  # noqa: E731
        body = self.json_body(raw, lambda m: invalid(f"Malformed input request: {m}, please reformat your input and try again."))
        if operation in ("converse", "converse-stream"):
            return self.bedrock_converse(model, body, operation == "converse-stream", request_id)
        if operation in ("invoke", "invoke-with-response-stream"):
            return self.bedrock_invoke(model, body, operation == "invoke-with-response-stream", request_id)
        raise bedrock_reject(404, "UnknownOperationException", "Unknown operation")

    def bedrock_converse(self, model, body, stream, request_id):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise bedrock_reject(400, "ValidationException", "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
        inputs = converse_text(body.get("system"))
        last_user = None
        for m in messages:
            role = m.get("role") if isinstance(m, dict) else None
            if role not in ("user", "assistant"):
                raise bedrock_reject(
                    400,
                    "ValidationException",
                    f"1 validation error detected: Value '{role}' at 'messages.1.member.role' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [user, assistant]",
                )
            if role == "user":
                texts = converse_text(m.get("content"))
                inputs.extend(texts)
                last_user = texts
        text, prompt, completion = answer(last_user or [], inputs)
        usage = {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}
        if not stream:
            self.send_json(
                200,
                {
                    "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                    "stopReason": "end_turn",
                    "usage": usage,
                    "metrics": {"latencyMs": 42},
                },
                {"x-amzn-RequestId": request_id},
            )
            return {"stream": False, "model": model, "operation": "converse"}
        self.start_stream("application/vnd.amazon.eventstream", {"x-amzn-RequestId": request_id})
        n = 0

        def send(event, payload):
            nonlocal n
            n += 1
            self.write_chunk(eventstream_message(event, dict(payload, p=padding(n))))

        send("messageStart", {"role": "assistant"})
        for piece in chunks(text):
            if piece:
                send("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        send("contentBlockStop", {"contentBlockIndex": 0})
        send("messageStop", {"stopReason": "end_turn"})
        send("metadata", {"usage": usage, "metrics": {"latencyMs": 42}})
        self.end_stream()
        return {"stream": True, "model": model, "operation": "converse-stream"}

    def bedrock_invoke(self, model, body, stream, request_id):
        if body.get("anthropic_version") is not None:
            return self.bedrock_invoke_anthropic(model, body, stream, request_id)
        if isinstance(body.get("prompt"), str) and model.startswith(("mistral.", "us.mistral.", "eu.mistral.")):
            return self.bedrock_invoke_mistral(model, body, stream, request_id)
        raise bedrock_reject(
            400,
            "ValidationException",
            "Malformed input request: this fake answers Anthropic Messages and Mistral prompt bodies only, "
            "please reformat your input and try again.",
        )

    def invoke_headers(self, request_id, prompt, completion):
        return {
            "x-amzn-RequestId": request_id,
            "X-Amzn-Bedrock-Invocation-Latency": "42",
            "X-Amzn-Bedrock-Input-Token-Count": str(prompt),
            "X-Amzn-Bedrock-Output-Token-Count": str(completion),
        }

    def send_chunks(self, request_id, payloads):
        self.start_stream(
            "application/vnd.amazon.eventstream",
            {"x-amzn-RequestId": request_id, "X-Amzn-Bedrock-Content-Type": "application/json"},
        )
        for i, payload in enumerate(payloads):
            data = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
            self.write_chunk(eventstream_message("chunk", {"bytes": data, "p": padding(i)}))
        self.end_stream()

    def bedrock_invoke_anthropic(self, model, body, stream, request_id):
        if body.get("anthropic_version") != "bedrock-2023-05-31":
            raise bedrock_reject(400, "ValidationException", "Malformed input request: anthropic_version: invalid value, please reformat your input and try again.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(body.get("max_tokens"), int):
            raise bedrock_reject(
                400,
                "ValidationException",
                "Malformed input request: #: required key [messages, max_tokens] not found, please reformat your input and try again.",
            )
        inputs = list(anthropic_text(body.get("system")))
        last_user = None
        for m in messages:
            if isinstance(m, dict) and m.get("role") == "user":
                texts = anthropic_text(m.get("content"))
                inputs.extend(texts)
                last_user = texts
        text, prompt, completion = answer(last_user or [], inputs)
        ident = new_id("msg_bdrk_01")
        usage = {"input_tokens": prompt, "output_tokens": completion}
        if not stream:
            self.send_json(
                200,
                {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-3-haiku-20240307",
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                },
                self.invoke_headers(request_id, prompt, completion),
            )
            return {"stream": False, "model": model, "operation": "invoke"}
        events = [
            {
                "type": "message_start",
                "message": {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-3-haiku-20240307",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt, "output_tokens": 1},
                },
            },
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ]
        events += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            for piece in chunks(text)
            if piece
        ]
        events += [
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": completion}},
            {
                "type": "message_stop",
                "amazon-bedrock-invocationMetrics": {
                    "inputTokenCount": prompt,
                    "outputTokenCount": completion,
                    "invocationLatency": 42,
                    "firstByteLatency": 21,
                },
            },
        ]
        self.send_chunks(request_id, events)
        return {"stream": True, "model": model, "operation": "invoke-with-response-stream"}

    def bedrock_invoke_mistral(self, model, body, stream, request_id):
        prompt_text = body["prompt"]
        # The instruction template, when present, is not part of what the user said.
        said = prompt_text.replace("<s>", "").replace("</s>", "").replace("[INST]", "").replace("[/INST]", "").strip()
        text, prompt, completion = answer([said], [said])
        if not stream:
            self.send_json(
                200,
                {"outputs": [{"text": text, "stop_reason": "stop"}]},
                self.invoke_headers(request_id, prompt, completion),
            )
            return {"stream": False, "model": model, "operation": "invoke"}
        pieces = [p for p in chunks(text) if p] or [""]
        events = [{"outputs": [{"text": p, "stop_reason": None}]} for p in pieces]
        events[-1]["outputs"][0]["stop_reason"] = "stop"
        events[-1]["amazon-bedrock-invocationMetrics"] = {
            "inputTokenCount": prompt,
            "outputTokenCount": completion,
            "invocationLatency": 42,
            "firstByteLatency": 21,
        }
        self.send_chunks(request_id, events)
        return {"stream": True, "model": model, "operation": "invoke-with-response-stream"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog (5) resets connections when clients open many at once.
    request_queue_size = 128
    verbose = False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    for provider in ("openai", "anthropic", "gemini"):
        parser.add_argument(f"--{provider}-key", default=KEYS[provider], help=f"the API key {provider} requires")
    parser.add_argument("--bedrock-access-key-id", default=KEYS["bedrock"], help="the AWS access key id bedrock requires")
    parser.add_argument("--bedrock-region", default=BEDROCK_REGION[0], help="the region bedrock signatures must name")
    args = parser.parse_args(argv)
    BEDROCK_REGION[0] = args.bedrock_region
    KEYS.update(
        openai=args.openai_key,
        anthropic=args.anthropic_key,
        gemini=args.gemini_key,
        bedrock=args.bedrock_access_key_id,
    )
    server = Server(("127.0.0.1", args.port), Handler)
    server.verbose = args.verbose
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
