"""Each remote leg really reaches its upstream: the fake logs what it answered, so no leg can pass on the mock."""

import json
import urllib.request
import uuid


def seen(fake_url, provider):
    with urllib.request.urlopen(f"{fake_url}/_requests", timeout=10) as response:
        return json.load(response).get(provider, [])


def test_the_fake_upstream_answered_every_operation(remote_leg, remote_runtime, fake_url):
    runtime = remote_runtime
    before = len(seen(fake_url, remote_leg))
    marker = f"leg check {uuid.uuid4().hex[:8]}"
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    messages = [{"role": "user", "content": [{"text": marker}]}]

    converse = runtime.converse(modelId=model, messages=messages)
    assert converse["output"]["message"]["content"][0]["text"] == marker
    stream = runtime.converse_stream(modelId=model, messages=messages)
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream["stream"] if "contentBlockDelta" in e)
    assert text == marker
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [{"role": "user", "content": marker}]})
    invoke = json.loads(runtime.invoke_model(modelId=model, body=body)["body"].read())
    assert invoke["content"][0]["text"] == marker
    chunks = runtime.invoke_model_with_response_stream(modelId=model, body=body)["body"]
    events = [json.loads(e["chunk"]["bytes"]) for e in chunks if "chunk" in e]
    assert "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta") == marker

    calls = seen(fake_url, remote_leg)[before:]
    assert [c["status"] for c in calls] == [200, 200, 200, 200], calls
    # Converse and InvokeModel are whole answers upstream, their streams streams.
    assert [c["stream"] for c in calls] == [False, True, False, True], calls
    if remote_leg == "bedrock":
        # Relayed as called: the same model id and operation.
        assert [c["model"] for c in calls] == [model] * 4
        assert [c["operation"] for c in calls] == ["converse", "converse-stream", "invoke", "invoke-with-response-stream"]
