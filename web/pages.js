// The list pages: servers, search, skills, runs.
import { api } from "./api.js";
import { html, useState } from "./vendor/preact-htm.js";
import { Ago, Badge, ErrorBox, formatMs, Json, Loading, Status, useApi } from "./widgets.js";

export function ServersPage() {
  const { data, error } = useApi("servers", { everyMs: 2000 });
  return html`<section aria-labelledby="servers-title">
    <h1 id="servers-title">Servers</h1>
    <p class="muted">Downstream MCP servers from mcp.json; refreshed every 2 seconds.</p>
    <${ErrorBox} error=${error} />
    ${
      data === undefined
        ? html`<${Loading} what="servers" />`
        : html`<div class="table-wrap">
            <table class="servers">
              <thead>
                <tr>
                  <th scope="col">Server</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Tools</th>
                  <th scope="col">Connect time</th>
                  <th scope="col">Ready since</th>
                  <th scope="col" class="num">Restarts</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody aria-live="polite">
                ${data.servers.map(
                  (s) => html`<tr data-server=${s.name}>
                    <th scope="row">${s.name}</th>
                    <td><${Status} status=${s.state} /></td>
                    <td class="num">${s.toolCount}</td>
                    <td>${formatMs(s.connectMs)}</td>
                    <td><${Ago} at=${s.readySince} /></td>
                    <td class="num">${s.restarts}</td>
                    <td class="error-text">
                      ${
                        s.error ??
                        (s.lastFailure
                          ? html`<span class="muted">${s.lastFailure.message} (<${Ago} at=${s.lastFailure.at} />)</span>`
                          : html`<span class="muted">none</span>`)
                      }
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

const round = (value) => Math.round(value * 100) / 100;

/**
 * Why a result ranked, when the search explains it: the parts its score adds up from, the words it matched in
 * each field, words it learned from use, and related words it matched through the vocabulary bridge.
 */
function Explain({ explanation, open }) {
  if (!explanation) return null;
  const { parts = {}, fields = {}, learned = [], related = [], skillBoost } = explanation;
  return html`<details class="explain" open=${open}>
    <summary>Why it ranked</summary>
    <dl class="facts small">
      <dt>Score</dt>
      <dd>
        ${Object.entries(parts)
          .map(([part, value]) => `${part} ${round(value)}`)
          .join(" + ")}${skillBoost !== undefined ? ` (× ${skillBoost}, a skill)` : ""}
      </dd>
      ${Object.entries(fields).map(
        ([field, terms]) => html`<dt>In ${field}</dt><dd><code>${terms.join(" ")}</code></dd>`,
      )}
      ${learned.length > 0 && html`<dt>Learned</dt><dd>${learned.map((l) => `${l.term} (${round(l.strength)})`).join(", ")}</dd>`}
      ${related.length > 0 && html`<dt>Related words</dt><dd><code>${related.join(" ")}</code></dd>`}
    </dl>
  </details>`;
}

function SearchResult({ result, best, first }) {
  const share = best > 0 ? Math.max(4, Math.round((result.score / best) * 100)) : 0;
  const annotations = Object.entries(result.annotations ?? {}).filter(([, v]) => v === true);
  return html`<li class="result">
    <div class="result-head">
      <code class="tool-name">${result.name}</code>
      <${Badge} kind=${result.kind === "skill" ? "info" : "muted"}>${result.kind}<//>
      ${result.match && html`<${Badge} kind="info" title=${result.match === "related" ? "matched through related words" : "matched through words learned from use"}>${result.match}<//>`}
      ${result.lookalike && html`<${Badge} kind="bad" title=${`looks like ${result.lookalike}`}>lookalike<//>`}
      ${annotations.map(([k]) => html`<${Badge} kind="muted">${k.replace(/Hint$/, "")}<//>`)}
      <span class="score" title="BM25 score">
        <meter min="0" max="100" value=${share} aria-label="relative score"></meter> ${result.score}
      </span>
    </div>
    ${result.description && html`<p class="description">${result.description}</p>`}
    ${result.params !== undefined && html`<p class="params"><span class="label">params</span> <code>${result.params || "none"}</code></p>`}
    ${
      result.returns !== undefined
        ? html`<div class="returns"><span class="label">observed shape</span><pre>${result.returns}</pre></div>`
        : result.kind === "tool" &&
          html`<p class="muted small">No answer observed yet (probe it to learn its shape).</p>`
    }
    ${result.inputSchema && html`<details><summary>Input schema</summary><${Json} value=${result.inputSchema} label="input schema" /></details>`}
    <${Explain} explanation=${result.explanation} open=${first} />
  </li>`;
}

export function SearchPage() {
  const servers = useApi("servers");
  const [form, setForm] = useState({ query: "", detail: "full", limit: 8, server: "" });
  const [answer, setAnswer] = useState({ busy: false });
  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const submit = async (event) => {
    event.preventDefault();
    setAnswer({ busy: true });
    try {
      const body = {
        query: form.query,
        detail: form.detail,
        limit: Number(form.limit),
        explain: true,
        ...(form.server && { server: form.server }),
      };
      setAnswer({ busy: false, data: await api("search", { method: "POST", body }), query: form.query });
    } catch (error) {
      setAnswer({ busy: false, error });
    }
  };
  const results = answer.data?.results ?? [];
  const best = Math.max(0, ...results.map((r) => r.score));
  return html`<section aria-labelledby="search-title">
    <h1 id="search-title">Search playground</h1>
    <p class="muted">The same search agents get from search_tools, with its scores.</p>
    <form class="search-form" onSubmit=${submit} role="search">
      <label class="grow">What should the tool do?
        <input name="query" type="search" value=${form.query} onInput=${set("query")} placeholder="e.g. write text into a file" autocomplete="off" />
      </label>
      <label>Detail
        <select name="detail" value=${form.detail} onChange=${set("detail")}>
          <option value="name">name</option><option value="summary">summary</option><option value="full">full</option>
        </select>
      </label>
      <label>Server
        <select name="server" value=${form.server} onChange=${set("server")}>
          <option value="">all</option>
          ${(servers.data?.servers ?? []).map((s) => html`<option value=${s.name}>${s.name}</option>`)}
        </select>
      </label>
      <label>Limit <input name="limit" type="number" min="1" max="50" value=${form.limit} onInput=${set("limit")} /></label>
      <button type="submit" disabled=${answer.busy}>${answer.busy ? "Searching…" : "Search"}</button>
    </form>
    <${ErrorBox} error=${answer.error} />
    ${
      answer.data &&
      html`<p class="summary" aria-live="polite">
        ${results.length} of ${answer.data.total} matches for “${answer.query}”
        ${answer.data.connecting?.length ? ` (${answer.data.connecting.join(", ")} still connecting)` : ""}
      </p>
      ${
        answer.data.bridged?.length > 0 &&
        html`<p class="note">No tool uses ${answer.data.bridged.map((b) => html`“${b.word}” (searched as ${b.related.join(", ")}) `)}</p>`
      }
      ${
        answer.data.places?.length > 0 &&
        html`<p class="note">Read as ${answer.data.places.length === 1 ? "a place" : "places"}: ${answer.data.places.map((p) => `“${p}”`).join(", ")} (tools that take an address or place searched too)</p>`
      }
      <ol class="results">${results.map((r, i) => html`<${SearchResult} result=${r} best=${best} first=${i === 0} />`)}</ol>`
    }
  </section>`;
}

export function SkillsPage() {
  const { data, error } = useApi("skills");
  return html`<section aria-labelledby="skills-title">
    <h1 id="skills-title">Skills</h1>
    <p class="muted">Code agents saved; each is also a tool of its own.</p>
    <${ErrorBox} error=${error} />
    ${
      data === undefined
        ? html`<${Loading} what="skills" />`
        : data.skills.length === 0
          ? html`<p>No skills are saved yet. An agent saves one with save_skill.</p>`
          : html`<ul class="cards">
              ${data.skills.map(
                (s) => html`<li class="card" data-skill=${s.name}>
                  <div class="card-head">
                    <a href=${`#/skills/${encodeURIComponent(s.name)}`}><code>${s.name}</code></a>
                    <${Badge} kind="muted">v${s.version}<//>
                    ${s.writes ? html`<${Badge} kind="warn" title="calls tools that may write">writes<//>` : html`<${Badge} kind="ok">read-only<//>`}
                    ${s.computedCalls && html`<${Badge} kind="warn" title="names tools at run time">computed calls<//>`}
                    ${s.drift > 0 && html`<${Badge} kind="bad" title="pinned tools changed or missing">${s.drift} drifted<//>`}
                  </div>
                  <p class="description">${s.description}</p>
                  <p class="small muted">
                    ${
                      s.tools.length + s.skills.length > 0
                        ? `calls ${[...s.skills.map((c) => `skill ${c.name}`), ...s.tools.map((t) => t.name)].join(", ")}`
                        : "calls no tools by name"
                    } · saved <${Ago} at=${s.updatedAt} />
                  </p>
                </li>`,
              )}
            </ul>`
    }
  </section>`;
}

export function RunsPage() {
  const { data, error } = useApi("runs?limit=100", { everyMs: 5000 });
  return html`<section aria-labelledby="runs-title">
    <h1 id="runs-title">Runs</h1>
    <p class="muted">Recent runs of saved skills and of ad-hoc code, newest first (kept 7 days).</p>
    <${ErrorBox} error=${error} />
    ${
      data === undefined
        ? html`<${Loading} what="runs" />`
        : data.runs.length === 0
          ? html`<p>No runs yet.</p>`
          : html`<div class="table-wrap"><table class="runs">
              <thead><tr>
                <th scope="col">Status</th><th scope="col">What</th><th scope="col">Started</th>
                <th scope="col" class="num">Took</th><th scope="col" class="num">Steps</th><th scope="col" class="num">Calls</th><th scope="col">Error</th>
              </tr></thead>
              <tbody>${data.runs.map(
                (r) => html`<tr data-run=${r.runId} data-status=${r.status}>
                  <td><${Status} status=${r.status} /></td>
                  <td><a href=${`#/runs/${encodeURIComponent(r.runId)}`}>${r.adHoc ? "ad-hoc code" : html`<code>${r.skill}</code> v${r.version}`}</a></td>
                  <td><${Ago} at=${r.startedAt} /></td>
                  <td class="num">${formatMs(r.tookMs)}</td>
                  <td class="num">${r.steps}</td>
                  <td class="num">${r.calls}</td>
                  <td class="error-text">${r.error ?? ""}</td>
                </tr>`,
              )}</tbody>
            </table></div>`
    }
  </section>`;
}
