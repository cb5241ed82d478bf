"""Pagination for every API list: page numbers for tables, cursors for transcripts and streams."""

import binascii
from base64 import b64decode

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ParseError


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CursorPagination(pagination.CursorPagination):
    """Cursor pages ordered by an integer column. A cursor this list didn't give out is a 400 that
    says so: DRF answers 404 for most and let a non-numeric position reach the query (500)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"
    invalid_cursor_message = "The cursor isn't one this list gave out: follow the `next` or `previous` link as it is."

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        try:
            # DRF decodes leniently: "%%%" decodes to nothing and silently means "the first page".
            if raw:
                b64decode(raw.encode("ascii"), validate=True)
            cursor = super().decode_cursor(request)
        except (UnicodeEncodeError, binascii.Error):
            raise ParseError(self.invalid_cursor_message) from None
        except NotFound:
            raise ParseError(self.invalid_cursor_message) from None
        if cursor is None:
            return None
        if cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError:
                raise ParseError(self.invalid_cursor_message) from None
        return cursor
