/**
 * An event id, in `webhook-id` or a batch item's `id`: printable ASCII without spaces or dots (the id is part of
 * the signed content, so a dot would be ambiguous), 1 to 256 characters.
 */
export const EVENT_ID = /^[\x21-\x2D\x2F-\x7E]{1,256}$/;
