/**
 * A URL with its whole userinfo (user and password) replaced by `***`, for logs, config errors
 * and the page badge: a NATS token or a Redis password may sit in the user part alone, and a
 * server list may name `token@host:port` with no scheme at all (the NATS client accepts it).
 * A value that does not parse is still scrubbed by pattern, never echoed as is.
 */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '***';
      parsed.password = '';
      url = parsed.toString();
    }
  } catch {
    // Not a URL: the pattern alone.
  }
  // Also what parsing missed: non-special schemes (nats:) parse oddly, and `token@host` or
  // `user:pass@host` without `//` parse as a scheme and a path, if at all.
  return redactAuthority(url);
}

/** One URL-like value: everything before the last `@` ahead of its query goes, spaces included. */
function redactAuthority(value: string): string {
  return value.replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/)?[^?#]*@/, '$1***@');
}

/**
 * Every userinfo inside free text (error messages, lists of URLs) scrubbed: after `scheme://`
 * up to its `@`, and a bare `token@` or `user:pass@` before a host (an e-mail address goes too).
 */
export function redactText(text: string): string {
  return text.replace(
    /([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#]*@|(^|[\s"'`(<[=,;])[^\s"'`<>@=,;/]*@(?=[^\s@])/g,
    (_match, scheme: string | undefined, before: string | undefined) => `${scheme ?? before ?? ''}***@`,
  );
}
