"""What the card routes send beyond their bodies, for the published document: the token
headers of QR images and printable cards, and the validators of the public key material."""

from __future__ import annotations

from cardsvc.kernel.openapi import ATTACHMENT, header, success_operation

_TOKEN_HEADERS = {
    "X-Token-Expires-At": header("when the token in the image expires (ISO 8601)"),
    "X-Token-Refresh-At": header("when to fetch the next rotating token", required=False),
}
QR_OPERATION = success_operation(headers=_TOKEN_HEADERS)
PRINTABLE_OPERATION = success_operation(
    headers={**_TOKEN_HEADERS, "Content-Disposition": ATTACHMENT}
)

_ETAG = {"ETag": header("strong validator of the body, to send as If-None-Match")}
PUBLISHED_OPERATION = success_operation(headers=_ETAG, not_modified=True)
STATUS_LIST_OPERATION = success_operation(
    headers={**_ETAG, "Last-Modified": header("the list's signed iat")}, not_modified=True
)
