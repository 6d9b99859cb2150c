/**
 * A URL with its whole userinfo (user and password) replaced by `***`, for logs, config errors
 * and the page badge: a NATS token or a Redis password may sit in the user part alone.
 * A value that does not parse is still scrubbed by pattern, never echoed as is.
 */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    // Non-special schemes (nats:) can parse oddly: the pattern catches what parsing missed.
    if (!parsed.username && !parsed.password) return redactAuthority(url);
    parsed.username = '***';
    parsed.password = '';
    return redactAuthority(parsed.toString());
  } catch {
    return redactAuthority(url);
  }
}

/** One URL-like value: everything before the last `@` of its authority goes, spaces included. */
function redactAuthority(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
}

/** Every `scheme://userinfo@` inside free text (error messages, lists of URLs) scrubbed. */
export function redactText(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@]*@/g, '$1***@');
}
