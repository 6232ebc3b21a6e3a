/** The store's URL to show (logs, /readyz, the CLI): a password in it becomes ***. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}
