"""A document's file, opened in the browser or downloaded, for those who may see it.

Firm members open any document's file; a client user only the files of
client-visible documents of the accounts they are linked to, as
approvalflow's directory says (``approvals.queries_for(user)``). Any other
document, of another account or in a folder the client does not see, is
the same "not found" as a document that does not exist.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath

from approvalflow_django import get_approvals
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from approvalflow import InvalidInputError, NotAuthorizedError, UnknownDocumentError
from portal.models import Document
from portal.roles import username

#: Types a browser shows without running anything; others are downloaded.
SHOWN_INLINE = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"}
)


def download_name(doc: Document) -> str:
    """The file's name for the person: the document's, with the file's suffix."""
    suffix = PurePath(doc.file.name).suffix
    name = str(doc.name)
    return name if name.lower().endswith(suffix.lower()) else name + suffix


@require_GET
@login_required
def document_file(request: HttpRequest, code: str, ref: str) -> FileResponse:
    """The document's file; ``?download=1`` saves it instead of showing it."""
    missing = _("There is no such document among yours.")
    try:
        # The access rule is approvalflow's: the directory is asked each time.
        get_approvals().queries_for(username(request)).status(ref)
    except (NotAuthorizedError, UnknownDocumentError, InvalidInputError):
        raise Http404(missing) from None
    doc = Document.objects.filter(ref=ref, folder__account__code=code).first()
    if doc is None or not doc.file:
        raise Http404(missing)
    name = download_name(doc)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    inline = request.GET.get("download") != "1" and content_type in SHOWN_INLINE
    response = FileResponse(
        doc.file.open("rb"),
        as_attachment=not inline,
        filename=name,
        content_type=content_type,
    )
    # Uploaded content is never the portal's own page: no scripts, no frames.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
