"""OpenAPI generation: every operation also documents the error answers our one error shape gives.

Views declare their success responses; the statuses any tenant API call can get from the shared
machinery (authentication, the role map, tenant and object lookups, input validation, domain
conflicts, throttling) are added here, so the schema says what a client really sees without every
view repeating them.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

UNSAFE_METHODS = ("POST", "PUT", "PATCH")
EVENT_STREAM = "text/event-stream"


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. scenario_not_found.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(help_text="Per-field problems, when the input was at fault.")


class ErrorOutput(serializers.Serializer):
    error = ErrorDetailOutput()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOutput, description=description)


class CoachHubAutoSchema(AutoSchema):
    def _error_responses(self) -> dict[str, OpenApiResponse]:
        errors = {
            "401": _error("Not logged in, or the API token is missing, invalid or revoked."),
            "403": _error("Your role (or account) can't do that."),
            "429": _error("Too many requests; wait and retry."),
        }
        if "{" in self.path:
            # Unknown tenant, not a member of it (or a token of another tenant), an object outside
            # the caller's reach, or a page/cursor past the end.
            errors["404"] = _error("No such tenant or object within your reach (another tenant's looks the same).")
        if self.method == "GET":
            errors["400"] = _error("A query parameter is malformed (e.g. a cursor this list didn't give out).")
        if self.method in UNSAFE_METHODS:
            errors["400"] = _error("The input is invalid (or JSON nested too deeply); `fields` says where.")
            errors["413"] = _error("The body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).")
            errors["409"] = _error("The object's state doesn't allow this (already done, locked, taken).")
            if self.get_request_serializer() is not None:
                errors["415"] = _error("Send one of the documented content types.")
        return errors

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        media_types = self.map_renderers("media_type")
        json_types = [m for m in media_types if m != EVENT_STREAM]
        for code, response in self._error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, json_types, direction=direction)
                if EVENT_STREAM in media_types:
                    # An endpoint that can stream sends the same refusal as one `error` event (text).
                    responses[code]["content"][EVENT_STREAM] = {"schema": {"type": "string"}}
        return responses

    def _get_format_parameters(self):
        # Formats are chosen by the Accept header; DRF's `?format=` override isn't part of the API.
        return []
