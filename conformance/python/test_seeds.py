"""The Bedrock overview seeds' boto3 snippets, run unmodified against Quarry on every leg.

`runtime` is the seeds' client on one leg's gateway: the mock provider, or a remote provider
(openai, anthropic, gemini, bedrock) answering from the fake upstreams (see conftest.py). The
fakes echo and count tokens as the mock does, so each assertion holds on every leg; the tests
marked `mock_only` exercise the mock provider's own switches and run on the mock leg alone.
"""

import json

import pytest
from botocore.exceptions import ClientError, EventStreamError


def test_converse_hello(runtime):
    response = runtime.converse(
        modelId="anthropic.claude-3-5-sonnet-20240620-v1:0",
        messages=[{"role": "user", "content": [{"text": "Hello!"}]}],
    )
    print(response)
    assert response["output"]["message"]["role"] == "assistant"
    assert response["output"]["message"]["content"] == [{"text": "Hello!"}]
    assert response["stopReason"] == "end_turn"
    assert response["usage"]["totalTokens"] == response["usage"]["inputTokens"] + response["usage"]["outputTokens"]
    assert "latencyMs" in response["metrics"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize(
    "model_id,text",
    [
        ("anthropic.claude-3-sonnet-20240229", "Hello from Claude!"),
        ("mistral.mistral-large-2407", "Hello from Mistral!"),
    ],
)
def test_converse_any_bedrock_model_id(runtime, model_id, text):
    response = runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}])
    assert response["output"]["message"]["content"][0]["text"] == text


def test_converse_stream_story(runtime, capsys):
    response = runtime.converse_stream(
        modelId="anthropic.claude-3-5-sonnet-20240620-v1:0",
        messages=[{"role": "user", "content": [{"text": "Tell me a story about a brave knight."}]}],
        inferenceConfig={"maxTokens": 512, "temperature": 0.5},
    )
    print("Response:")
    kinds = []
    for chunk in response["stream"]:
        kinds.append(next(iter(chunk)))
        if "contentBlockDelta" in chunk:
            text = chunk["contentBlockDelta"]["delta"]["text"]
            print(text, end="", flush=True)
    out = capsys.readouterr().out
    assert out == "Response:\nTell me a story about a brave knight."
    assert kinds[0] == "messageStart"
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]


def test_custom_headers_before_sign(runtime):
    seen = {}

    def add_bifrost_headers(request, **kwargs):
        """Add custom Bifrost headers to the request before signing."""
        request.headers.add_header("x-bf-vk", "vk_12345")
        request.headers.add_header("x-bf-env", "production")
        seen["signed"] = True

    runtime.meta.events.register_first("before-sign.bedrock-runtime.*", add_bifrost_headers)
    response = runtime.converse(
        modelId="anthropic.claude-3-5-sonnet-20240620-v1:0",
        messages=[{"role": "user", "content": [{"text": "Hello with custom headers!"}]}],
    )
    assert seen["signed"]
    assert response["output"]["message"]["content"][0]["text"] == "Hello with custom headers!"


@pytest.mark.mock_only
def test_provider_header_before_send(runtime):
    def route(request, **kwargs):
        request.headers["x-model-provider"] = "mock"

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", route)
    response = runtime.converse(modelId="gpt-4o", messages=[{"role": "user", "content": [{"text": "via header"}]}])
    assert response["output"]["message"]["content"][0]["text"] == "via header"


@pytest.mark.mock_only
def test_unknown_provider_is_a_validation_error(runtime):
    def route(request, **kwargs):
        request.headers["x-model-provider"] = "nope"

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", route)
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Configured providers: mock" in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.mock_only
def test_errors_are_typed(runtime):
    with pytest.raises(runtime.exceptions.ThrottlingException):
        runtime.converse(modelId="mock.throttle", messages=[{"role": "user", "content": [{"text": "x"}]}])
    with pytest.raises(runtime.exceptions.ValidationException) as err:
        runtime.converse(modelId="m", messages=[{"role": "robot", "content": [{"text": "x"}]}])
    assert "Member must satisfy enum value set" in str(err.value)


@pytest.mark.mock_only
def test_stream_failure_mid_stream_is_typed(runtime):
    response = runtime.converse_stream(
        modelId="mock.stream-throttle", messages=[{"role": "user", "content": [{"text": "some words here"}]}]
    )
    received = []
    # boto3 raises event-stream exceptions as EventStreamError carrying the member name as the code,
    # as it does against AWS.
    with pytest.raises(EventStreamError) as err:
        for chunk in response["stream"]:
            received.append(chunk)
    assert err.value.response["Error"]["Code"] == "throttlingException"
    assert "ThrottlingException" in err.value.response["Error"]["Message"]
    assert len(received) == 3


@pytest.mark.mock_only
def test_tool_round_trip(runtime):
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                }
            }
        ]
    }
    messages = [{"role": "user", "content": [{"text": "Use get_weather for Paris"}]}]
    first = runtime.converse(modelId="m", messages=messages, toolConfig=tools)
    assert first["stopReason"] == "tool_use"
    tool_use = first["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == "get_weather" and tool_use["input"] == {"city": "mock"}
    messages.append(first["output"]["message"])
    messages.append(
        {"role": "user", "content": [{"toolResult": {"toolUseId": tool_use["toolUseId"], "content": [{"json": {"temp": 18}}]}}]}
    )
    second = runtime.converse(modelId="m", messages=messages, toolConfig=tools)
    assert second["stopReason"] == "end_turn"
    assert "18" in second["output"]["message"]["content"][0]["text"]


def test_invoke_model_mistral(runtime):
    mistral_invoke_response = runtime.invoke_model(
        modelId="mistral.mistral-large-2407",
        contentType="application/json",
        accept="application/json",
        body=json.dumps({"prompt": "Say hello from Mistral using Invoke API.", "max_tokens": 50, "temperature": 0.7}),
    )
    result = json.loads(mistral_invoke_response["body"].read())
    assert mistral_invoke_response["contentType"] == "application/json"
    assert result["outputs"][0]["text"] == "Say hello from Mistral using Invoke API."
    assert result["outputs"][0]["stop_reason"] == "stop"


def test_invoke_model_with_response_stream_claude(runtime, capsys):
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Write a haiku about coding."}],
        }
    )
    response = runtime.invoke_model_with_response_stream(
        modelId="anthropic.claude-3-haiku-20240307-v1:0", body=body, contentType="application/json", accept="application/json"
    )
    print("Response:")
    types = []
    for event in response.get("body"):
        if "chunk" in event:
            chunk = event["chunk"]
            if "bytes" in chunk:
                result = json.loads(chunk["bytes"].decode("utf-8"))
                types.append(result["type"])
                if "delta" in result and "text" in result["delta"]:
                    print(result["delta"]["text"], end="", flush=True)
                elif "completion" in result:
                    print(result["completion"], end="", flush=True)
    assert capsys.readouterr().out == "Response:\nWrite a haiku about coding."
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "content_block_stop" in types and "message_delta" in types


def test_invoke_model_claude_messages(runtime):
    response = runtime.invoke_model(
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        body=json.dumps(
            {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi Claude"}]}
        ),
    )
    result = json.loads(response["body"].read())
    assert result["type"] == "message" and result["role"] == "assistant"
    assert result["content"] == [{"type": "text", "text": "Hi Claude"}]
    assert result["stop_reason"] == "end_turn"
    assert result["usage"]["input_tokens"] == 2


def test_invoke_model_bad_body_is_a_validation_error(runtime):
    with pytest.raises(runtime.exceptions.ValidationException) as err:
        runtime.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=b"{not json")
    assert "Malformed input request" in str(err.value)
