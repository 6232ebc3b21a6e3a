// One skill: what it calls (pins, drift, writes), its code, its versions, a diff of any two, restore, delete.
import { api } from "./api.js";
import { html, useEffect, useState } from "./vendor/preact-htm.js";
import { Ago, Badge, Code, ErrorBox, Loading, shortHash, useApi } from "./widgets.js";

const PIN_TEXT = {
  pinned: "same definition as when saved",
  changed: "changed since the skill was saved: check its answers still fit",
  missing: "not available now (its server may be down, or the tool removed)",
};

function ToolsTable({ tools }) {
  if (tools.length === 0) return html`<p class="muted">It calls no tools by name.</p>`;
  return html`<div class="table-wrap"><table class="pins">
    <thead><tr><th scope="col">Tool</th><th scope="col">Pinned hash</th><th scope="col">Now</th><th scope="col">Effect</th></tr></thead>
    <tbody>${tools.map(
      (t) => html`<tr data-pin=${t.status}>
        <th scope="row"><code>${t.name}</code></th>
        <td><code title=${t.pin}>${shortHash(t.pin)}</code></td>
        <td>
          <${Badge} kind=${t.status === "pinned" ? "ok" : "bad"} title=${PIN_TEXT[t.status]}>${t.status}<//>
          ${t.current && html` <code class="small" title=${t.current}>→ ${shortHash(t.current)}</code>`}
          ${t.status !== "pinned" && html`<div class="small warn-text">${PIN_TEXT[t.status]}</div>`}
        </td>
        <td>${t.writes ? html`<${Badge} kind="warn">may write<//>` : html`<${Badge} kind="ok">read-only<//>`}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

const CALLEE_TEXT = {
  pinned: "the version it was saved with",
  changed: "re-saved since: runs use the current version, and say so in their warnings",
  missing: "no longer saved: a run fails when it calls it",
};

function SkillsTable({ skills }) {
  return html`<div class="table-wrap"><table class="pins">
    <thead><tr><th scope="col">Skill</th><th scope="col">Pinned version</th><th scope="col">Now</th></tr></thead>
    <tbody>${skills.map(
      (s) => html`<tr data-callee=${s.status}>
        <th scope="row"><a href=${`#/skills/${encodeURIComponent(s.name)}`}><code>${s.name}</code></a></th>
        <td>v${s.pinned}</td>
        <td>
          <${Badge} kind=${s.status === "pinned" ? "ok" : "bad"} title=${CALLEE_TEXT[s.status]}>${s.status}<//>
          ${s.current !== undefined && html` now v${s.current}`}
          ${s.status !== "pinned" && html`<div class="small warn-text">${CALLEE_TEXT[s.status]}</div>`}
        </td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

function Diff({ name, versions }) {
  const numbers = versions.map((v) => v.version);
  const last = numbers.at(-1);
  const [range, setRange] = useState({ from: numbers.at(-2) ?? last, to: last });
  useEffect(() => setRange({ from: numbers.at(-2) ?? last, to: last }), [name, last]);
  const diff = useApi(`skills/${encodeURIComponent(name)}/diff?from=${range.from}&to=${range.to}`);
  const pick = (key) => (event) => setRange({ ...range, [key]: Number(event.currentTarget.value) });
  const options = numbers.map((n) => html`<option value=${n}>v${n}</option>`);
  return html`<section class="diff" aria-labelledby="diff-title">
    <h2 id="diff-title">Diff</h2>
    <div class="row">
      <label>From <select value=${range.from} onChange=${pick("from")}>${options}</select></label>
      <label>To <select value=${range.to} onChange=${pick("to")}>${options}</select></label>
    </div>
    <${ErrorBox} error=${diff.error} />
    ${
      diff.data === undefined
        ? html`<${Loading} what="the diff" />`
        : diff.data.hunks.length === 0
          ? html`<p class="muted">v${diff.data.from} and v${diff.data.to} have the same code.</p>`
          : html`<div class="diff-body" tabindex="0" aria-label=${`diff of v${diff.data.from} and v${diff.data.to}`}>
              ${diff.data.hunks.map(
                (h) =>
                  html`<div class="hunk"><div class="hunk-head">${h.header}</div>${h.lines.map(
                    (l) =>
                      html`<div class=${`line line-${l.kind}`}><span class="ln">${l.old ?? ""}</span><span class="ln">${l.new ?? ""}</span><span class="mark" aria-hidden="true">${l.kind === "add" ? "+" : l.kind === "remove" ? "−" : " "}</span><span class="sr-only">${l.kind === "add" ? "added: " : l.kind === "remove" ? "removed: " : ""}</span><code>${l.text}</code></div>`,
                  )}</div>`,
              )}
            </div>`
    }
  </section>`;
}

function Versions({ skill, onChanged }) {
  const [viewing, setViewing] = useState(undefined);
  const [state, setState] = useState({});
  const view = async (version) => {
    try {
      setViewing(await api(`skills/${encodeURIComponent(skill.name)}/versions/${version}`));
    } catch (error) {
      setState({ error });
    }
  };
  const restore = async (version) => {
    setState({ busy: version });
    try {
      const done = await api(`skills/${encodeURIComponent(skill.name)}/restore`, {
        method: "POST",
        body: { version },
      });
      setState({ note: `v${version} restored as v${done.version}.` });
      setViewing(undefined);
      onChanged();
    } catch (error) {
      setState({ error });
    }
  };
  return html`<section aria-labelledby="versions-title">
    <h2 id="versions-title">Versions</h2>
    <${ErrorBox} error=${state.error} />
    ${state.note && html`<p class="note" role="status">${state.note}</p>`}
    <ol class="versions" reversed>
      ${skill.versions
        .slice()
        .reverse()
        .map(
          (v) => html`<li>
            <span><strong>v${v.version}</strong> <${Ago} at=${v.updatedAt} /> · ${v.lines} lines
              ${v.version === skill.version && html` <${Badge} kind="ok">current<//>`}</span>
            <span class="actions">
              <button type="button" class="link" onClick=${() => view(v.version)}>View</button>
              ${v.version !== skill.version && html`<button type="button" onClick=${() => restore(v.version)} disabled=${state.busy !== undefined}>Roll back to v${v.version}</button>`}
            </span>
          </li>`,
        )}
    </ol>
    ${
      viewing &&
      html`<div class="viewing"><h3>v${viewing.version} <button type="button" class="link" onClick=${() => setViewing(undefined)}>close</button></h3>
        <${Code} htmlText=${viewing.codeHtml} label=${`code of v${viewing.version}`} /></div>`
    }
  </section>`;
}

function DeleteSkill({ name }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState(undefined);
  const remove = async (event) => {
    event.preventDefault();
    try {
      await api(`skills/${encodeURIComponent(name)}`, { method: "DELETE", body: { confirm: typed } });
      location.hash = "#/skills";
    } catch (failure) {
      setError(failure);
    }
  };
  if (!open)
    return html`<button type="button" class="danger" onClick=${() => setOpen(true)}>Delete skill…</button>`;
  return html`<form class="confirm" onSubmit=${remove}>
    <p>Deleting <code>${name}</code> removes it as a tool for every client at once; its history stays on disk.
    Type its name to confirm.</p>
    <${ErrorBox} error=${error} />
    <label>Skill name <input value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} autocomplete="off" /></label>
    <div class="row">
      <button type="submit" class="danger" disabled=${typed !== name}>Delete ${name}</button>
      <button type="button" onClick=${() => setOpen(false)}>Cancel</button>
    </div>
  </form>`;
}

export function SkillPage({ name }) {
  const { data: skill, error, reload } = useApi(`skills/${encodeURIComponent(name)}`);
  return html`<section aria-labelledby="skill-title">
    <p><a href="#/skills">← Skills</a></p>
    <h1 id="skill-title"><code>${name}</code>
      ${
        skill &&
        html` <${Badge} kind="muted">v${skill.version}<//>
        ${skill.writes ? html`<${Badge} kind="warn" title="calls tools that may write">writes<//>` : html`<${Badge} kind="ok">read-only<//>`}
        ${skill.computedCalls && html`<${Badge} kind="warn">computed calls<//>`}`
      }
    </h1>
    <${ErrorBox} error=${error} />
    ${
      skill === undefined
        ? !error && html`<${Loading} what="the skill" />`
        : html`<p class="description">${skill.description}</p>
          <p class="small muted">Saved <${Ago} at=${skill.updatedAt} />, first <${Ago} at=${skill.createdAt} />${skill.fromRun ? html` · from run <a href=${`#/runs/${skill.fromRun}`}><code>${skill.fromRun.slice(0, 8)}</code></a>` : ""}</p>
          ${skill.drift > 0 && html`<div class="warning" role="alert">${skill.drift} pinned tool(s) or skill(s) changed or went missing since this version was saved.</div>`}
          ${skill.computedCalls && html`<div class="warning">It names some tools at run time: they could not be checked or pinned, so it is never marked read-only.</div>`}
          <h2>Tools it calls</h2>
          <${ToolsTable} tools=${skill.tools} />
          ${skill.skills.length > 0 && html`<h2>Skills it calls</h2><${SkillsTable} skills=${skill.skills} />`}
          ${
            skill.usedBy.length > 0 &&
            html`<p class="small">Used by ${skill.usedBy.map((n, i) => html`${i > 0 ? ", " : ""}<a href=${`#/skills/${encodeURIComponent(n)}`}><code>${n}</code></a>`)}</p>`
          }
          <h2>Annotations</h2>
          <p>${Object.entries(skill.annotations).map(([k, v]) => html`<${Badge} kind=${v ? "info" : "muted"}>${k}: ${String(v)}<//> `)}</p>
          <h2>Code (v${skill.version})</h2>
          <${Code} htmlText=${skill.codeHtml} label="skill code" />
          ${skill.versions.length > 1 && html`<${Diff} name=${name} versions=${skill.versions} />`}
          <${Versions} skill=${skill} onChanged=${reload} />
          <h2>Danger zone</h2>
          <${DeleteSkill} name=${name} />`
    }
  </section>`;
}
