// The console's shell: navigation, hash routes, and the bearer token asked for once per tab.
import { onUnauthorized, token } from "./api.js";
import { RunsPage, SearchPage, ServersPage, SkillsPage } from "./pages.js";
import { RunPage } from "./run-page.js";
import { SkillPage } from "./skill-page.js";
import { html, render, useEffect, useRef, useState } from "./vendor/preact-htm.js";

const NAV = [
  ["servers", "Servers"],
  ["search", "Search"],
  ["skills", "Skills"],
  ["runs", "Runs"],
];

/** `#/skills/name` → { page: "skills", id: "name" }. */
function parseRoute(hash) {
  const [page = "servers", ...rest] = hash.replace(/^#\/?/, "").split("/");
  const id = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  return { page: NAV.some(([key]) => key === page) ? page : "servers", id };
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function TokenForm({ onSaved }) {
  const [value, setValue] = useState("");
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);
  const save = (event) => {
    event.preventDefault();
    token.set(value.trim());
    onSaved();
  };
  return html`<form class="token" onSubmit=${save} aria-labelledby="token-title">
    <h1 id="token-title">Token needed</h1>
    <p>This gateway takes a bearer token (SKILLSMITH_TOKEN). It is kept in this tab only (sessionStorage).</p>
    <label>Token <input ref=${input} type="password" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} autocomplete="off" /></label>
    <button type="submit" class="primary" disabled=${!value.trim()}>Open the console</button>
  </form>`;
}

function Page({ route }) {
  if (route.page === "skills" && route.id) return html`<${SkillPage} name=${route.id} />`;
  if (route.page === "runs" && route.id) return html`<${RunPage} id=${route.id} />`;
  const pages = { servers: ServersPage, search: SearchPage, skills: SkillsPage, runs: RunsPage };
  return html`<${pages[route.page]} />`;
}

function App() {
  const route = useRoute();
  const [needToken, setNeedToken] = useState(false);
  const [generation, setGeneration] = useState(0);
  const main = useRef(null);
  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  // A new page takes the focus, so a keyboard or screen-reader user starts there.
  useEffect(() => main.current?.focus({ preventScroll: true }), [route.page, route.id]);
  return html`<a class="skip" href="#main" onClick=${(e) => {
    e.preventDefault();
    main.current?.focus();
  }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/servers"><img src="/assets/icon.svg" alt="" width="22" height="22" /> Skillsmith</a>
      <nav aria-label="Console">
        ${NAV.map(
          ([key, label]) =>
            html`<a href=${`#/${key}`} aria-current=${route.page === key ? "page" : undefined}>${label}</a>`,
        )}
      </nav>
      ${
        token.get() &&
        html`<button type="button" class="link small" onClick=${() => {
          token.clear();
          setNeedToken(true);
        }}>Forget token</button>`
      }
    </header>
    <main id="main" ref=${main} tabindex="-1">
      ${
        needToken
          ? html`<${TokenForm} onSaved=${() => {
              setNeedToken(false);
              setGeneration(generation + 1);
            }} />`
          : html`<${Page} key=${`${generation}:${route.page}:${route.id ?? ""}`} route=${route} />`
      }
    </main>`;
}

const root = document.getElementById("app");
// The "Loading…" line is plain HTML, not Preact's: cleared so the app does not render beside it.
root.textContent = "";
render(html`<${App} />`, root);
