// What the gateway writes into the demo page for it (src/http/demo-page.ts): meta tags.

/** The content of the page's `<meta name={name}>`, or null (no page, as in tests, or no such tag). */
export function pageSetting(name: string): string | null {
  if (typeof document === "undefined") return null;
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? null;
}
