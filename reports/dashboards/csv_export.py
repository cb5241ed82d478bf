"""CSV versions of the dashboard tables: the same rows the page shows, one response per table."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, StreamingHttpResponse


def safe_cell(value) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading quote keeps text as text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return f"'{text}"
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return response


def csv_streaming_response(filename: str, header: list[str], chunks: Iterable[Iterable[Iterable]]) -> StreamingHttpResponse:
    """The same CSV, sent a chunk of rows at a time while the rest are still being read."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield buffer.getvalue()  # the download starts while the first rows are read
        buffer.seek(0)
        buffer.truncate()
        for rows in chunks:
            writer.writerows([safe_cell(value) for value in row] for row in rows)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
