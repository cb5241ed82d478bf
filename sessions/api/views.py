"""Sessions API: list and read sessions within the caller's reach; reps start, talk and end their
own sessions. A turn answers in JSON (the rep's line and the customer's whole reply) or, asked with
`Accept: text/event-stream`, as server-sent events with the reply streamed as it is written."""

from django.core.files.base import ContentFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from coachhub.core.pagination import CursorPagination
from coachhub.tenancy.access import ALL_ROLES
from coachhub.tenancy.api.base import TenantViewSet
from scenarios import selectors as scenario_selectors

from .. import selectors, services
from ..models import PracticeSession
from ..streaming import reply_stream, sse, turn_response
from . import serializers as s
from .renderers import EventStreamRenderer

# The actions that produce a customer's reply, and so can stream it.
STREAMING_ACTIONS = {"say", "audio", "reply"}
STREAM_DESCRIPTION = (
    "JSON: the rep's line, the customer's reply and the session. With `Accept: text/event-stream`, "
    "server-sent events instead: `saved` (the rep's line), `delta` (`{\"text\"}`, the reply as it is "
    "written), then `done` (the stored reply, the session's status and `server_ms`) or `error` "
    "(`{\"code\", \"message\", \"retry\"}`: the rep's line stays saved; retry with POST …/reply/). "
    "The audio turn starts with `transcript`. A refused turn answers its usual status (400, 404, 409…) "
    "with one `error` event carrying the error's `code`, `message` and `fields`."
)


def _exchange(json_output) -> dict:
    return {
        (200, "application/json"): OpenApiResponse(json_output, description=STREAM_DESCRIPTION),
        (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, description=STREAM_DESCRIPTION),
    }


class TurnCursorPagination(CursorPagination):
    ordering = "index"


class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = PracticeSession
    serializer_class = s.SessionOutput
    role_map = {"GET": ALL_ROLES, "POST": ALL_ROLES}

    def scoped_queryset(self):
        queryset = selectors.session_list_visible(tenant=self.tenant, viewer=self.membership)
        status_filter = self.request.query_params.get("status")
        return queryset.filter(status=status_filter) if status_filter in ("active", "ended") else queryset

    def _own(self, session_id) -> PracticeSession:
        return selectors.session_get_own(tenant=self.tenant, rep=self.membership, session_id=session_id)

    def get_renderers(self):
        renderers = super().get_renderers()
        if getattr(self, "action", None) in STREAMING_ACTIONS:
            renderers.append(EventStreamRenderer())
        return renderers

    def _streams(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), EventStreamRenderer)

    @extend_schema(request=s.SessionStartInput, responses={201: s.SessionOutput})
    def create(self, request, *args, **kwargs):
        data = s.SessionStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = recipient = None
        if data.validated_data.get("assignment_recipient_id"):
            # session_start refuses (404) another rep's assignment.
            recipient = scenario_selectors.recipient_get(
                tenant=self.tenant, recipient_id=data.validated_data["assignment_recipient_id"]
            )
        else:
            version = scenario_selectors.version_get(tenant=self.tenant, version_id=data.validated_data["version_id"])
        session = services.session_start(
            tenant=self.tenant, rep=self.membership, version=version, recipient=recipient,
            mode=data.validated_data["mode"], seed=data.validated_data.get("seed"),
        )
        return Response(s.SessionOutput(self.scoped_queryset().get(pk=session.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.TurnOutput(many=True))
    @action(detail=True, methods=["get"], pagination_class=TurnCursorPagination)
    def turns(self, request, *args, **kwargs):
        """The transcript, oldest first, cursor-paginated."""
        session = self.get_object()
        page = self.paginate_queryset(selectors.turn_list(tenant=self.tenant, session=session))
        return self.get_paginated_response(s.TurnOutput(page, many=True).data)

    @extend_schema(request=s.TurnInput, responses=_exchange(s.TurnExchangeOutput))
    @turns.mapping.post
    def say(self, request, *args, **kwargs):
        """The rep says something; the customer's reply comes back in the same response (JSON), or
        streams as it is written (`Accept: text/event-stream`)."""
        session = self._own(kwargs["pk"])
        data = s.TurnInput(data=request.data)
        data.is_valid(raise_exception=True)
        if self._streams():
            taken = services.session_turn_take(
                tenant=self.tenant, rep=self.membership, session_id=session.id, text=data.validated_data["text"]
            )
            return turn_response(
                tenant=self.tenant, rep=self.membership, taken=taken, arrived_at=getattr(request, "arrived_at", None)
            )
        rep_turn, customer_turn = services.session_turn_exchange(
            tenant=self.tenant, rep=self.membership, session_id=session.id, text=data.validated_data["text"]
        )
        body = {"rep_turn": rep_turn, "customer_turn": customer_turn, "session": self.scoped_queryset().get(pk=session.pk)}
        return Response(s.TurnExchangeOutput(body).data)

    @extend_schema(request={"multipart/form-data": s.VoiceTurnInput}, responses=_exchange(s.VoiceTurnExchangeOutput))
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def audio(self, request, *args, **kwargs):
        """The rep says something out loud: the recording is transcribed (faster-whisper), saved as
        their turn with its delivery figures, and the customer's reply comes back (JSON, or streamed
        after a `transcript` event with `Accept: text/event-stream`). Bad audio is refused
        (400/413/422) with the session intact."""
        session = self._own(kwargs["pk"])
        text, delivery, raw = services.voice_turn_transcribe(rep=self.membership, upload=request.FILES.get("audio"))
        turn = {
            "tenant": self.tenant, "rep": self.membership, "session_id": session.id, "text": text,
            "delivery": delivery, "audio": ContentFile(raw, name=f"s{session.id}.audio"),
        }
        if self._streams():
            return turn_response(
                tenant=self.tenant, rep=self.membership, taken=services.session_turn_take(**turn),
                arrived_at=getattr(request, "arrived_at", None),
                first=[sse("transcript", {"text": text, "delivery": delivery})],
            )
        rep_turn, customer_turn = services.session_turn_exchange(**turn)
        body = {
            "rep_turn": rep_turn, "customer_turn": customer_turn, "delivery": delivery,
            "session": self.scoped_queryset().get(pk=session.pk),
        }
        return Response(s.VoiceTurnExchangeOutput(body).data)

    @extend_schema(request=None, responses=_exchange(s.TurnExchangeOutput))
    @action(detail=True, methods=["post"])
    def reply(self, request, *args, **kwargs):
        """Retry the customer's reply to a saved rep line whose reply failed (JSON, or streamed with
        `Accept: text/event-stream`). 409 when no line is waiting for a reply."""
        session = self._own(kwargs["pk"])
        if self._streams():
            # Read (and refuse) before streaming, so "nothing to retry" keeps its 409.
            context = services.reply_context(tenant=self.tenant, rep=self.membership, session_id=session.id)
            return reply_stream(
                tenant=self.tenant, rep=self.membership, session_id=session.id, context=context,
                arrived_at=getattr(request, "arrived_at", None),
            )
        customer_turn = services.session_reply(tenant=self.tenant, rep=self.membership, session_id=session.id)
        rep_turn = selectors.turn_list(tenant=self.tenant, session=session).get(index=customer_turn.index - 1)
        body = {"rep_turn": rep_turn, "customer_turn": customer_turn, "session": self.scoped_queryset().get(pk=session.pk)}
        return Response(s.TurnExchangeOutput(body).data)

    @extend_schema(request=s.SessionEndInput, responses=s.SessionOutput)
    @action(detail=True, methods=["post"])
    def end(self, request, *args, **kwargs):
        session = self._own(kwargs["pk"])
        services.session_end(tenant=self.tenant, rep=self.membership, session_id=session.id)
        return Response(s.SessionOutput(self.scoped_queryset().get(pk=session.pk)).data)


