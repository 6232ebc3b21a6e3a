// The console's one way to the gateway: JSON over fetch, with the bearer token when one was given.
const TOKEN_KEY = "skillsmith-token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer that was not 2xx: `status`, and the gateway's `{ code, message }`. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? "HTTP";
  }
}

const listeners = new Set();
/** Called with every 401, so the page can ask for the token. */
export function onUnauthorized(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" };
  const saved = token.get();
  if (saved) headers.authorization = `Bearer ${saved}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/api/${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) for (const listener of listeners) listener();
  if (!response.ok) throw new ApiError(response.status, data.error);
  return data;
}
