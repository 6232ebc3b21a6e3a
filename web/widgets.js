// Small shared pieces of the console's pages.
import { api } from "./api.js";
import { html, useCallback, useEffect, useState } from "./vendor/preact-htm.js";

/**
 * Loads `path` from the API (again when it changes, and every `everyMs` when given): `{ data, error, reload }`.
 * A failed poll keeps the last data and shows the error beside it.
 */
export function useApi(path, { everyMs } = {}) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const reload = useCallback(async () => {
    try {
      const data = await api(path);
      setState({ data, error: undefined });
    } catch (error) {
      setState((old) => ({ data: old.data, error }));
    }
  }, [path]);
  useEffect(() => {
    setState({ data: undefined, error: undefined });
    reload();
    if (!everyMs) return undefined;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [reload, everyMs]);
  return { ...state, reload };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <strong>${error.code ?? "Error"}</strong> ${error.message}
  </div>`;
}

export function Loading({ what }) {
  return html`<p class="muted" aria-busy="true">Loading ${what}…</p>`;
}

export function Badge({ kind, children, title }) {
  return html`<span class=${`badge badge-${kind}`} title=${title}>${children}</span>`;
}

export const STATUS_KIND = {
  ready: "ok",
  ok: "ok",
  connecting: "wait",
  running: "wait",
  failed: "bad",
  resumed: "info",
  disabled: "muted",
  closed: "muted",
};

export function Status({ status }) {
  return html`<${Badge} kind=${STATUS_KIND[status] ?? "muted"}>${status}<//>`;
}

export function formatMs(ms) {
  if (ms === undefined || ms === null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A time as "3 min ago", with the exact time on hover. */
export function Ago({ at }) {
  if (at === undefined || at === null) return html`<span class="muted">—</span>`;
  const date = new Date(at);
  const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  const text =
    seconds < 60
      ? `${seconds} s ago`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.floor(seconds / 3600)} h ago`
          : date.toLocaleDateString();
  return html`<time datetime=${date.toISOString()} title=${date.toLocaleString()}>${text}</time>`;
}

/** Code highlighted by the gateway (highlight.js escapes the source; its spans only carry classes). */
export function Code({ htmlText, label }) {
  return html`<pre class="code" tabindex="0" aria-label=${label}><code
    class="hljs"
    dangerouslySetInnerHTML=${{ __html: htmlText }}
  /></pre>`;
}

export function Json({ value, label }) {
  return html`<pre class="json" tabindex="0" aria-label=${label}>${JSON.stringify(value, null, 2)}</pre>`;
}

export const shortHash = (hash) => (hash ? hash.slice(0, 10) : "—");
