"""The Bedrock overview seeds' boto3 snippets, run unmodified against Quarry on the mock provider."""

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


def test_provider_header_before_send(runtime):
    def route(request, **kwargs):
        request.headers["x-model-provider"] = "mock"

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", route)
    response = runtime.converse(modelId="gpt-4o", messages=[{"role": "user", "content": [{"text": "via header"}]}])
    assert response["output"]["message"]["content"][0]["text"] == "via header"


def test_unknown_provider_is_a_validation_error(runtime):
    def route(request, **kwargs):
        request.headers["x-model-provider"] = "nope"

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", route)
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Configured providers: mock" in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_errors_are_typed(runtime):
    with pytest.raises(runtime.exceptions.ThrottlingException):
        runtime.converse(modelId="mock.throttle", messages=[{"role": "user", "content": [{"text": "x"}]}])
    with pytest.raises(runtime.exceptions.ValidationException) as err:
        runtime.converse(modelId="m", messages=[{"role": "robot", "content": [{"text": "x"}]}])
    assert "Member must satisfy enum value set" in str(err.value)


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
