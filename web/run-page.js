// One run as a timeline of its steps, its error and failed step, and a resume button for a failed run.
// Bar widths are set through the CSSOM (element.style), which the page's CSP allows; style attributes it does not.
import { api } from "./api.js";
import { html, useState } from "./vendor/preact-htm.js";
import { Ago, Badge, Code, ErrorBox, formatMs, Json, Loading, Status, useApi } from "./widgets.js";

/** A saved skill that a step called, with its own steps (skills calling skills). */
function NestedRun({ run, longest }) {
  return html`<li class="nested-run">
    <div class="step-head">
      <span class="label">calls</span>
      <a href=${`#/skills/${encodeURIComponent(run.skill)}`}><code>${run.skill}</code></a> v${run.version}
      <${Status} status=${run.status} />
      <span class="step-ms">${formatMs(run.ms)}</span>
    </div>
    ${run.input !== undefined && html`<div class="small"><span class="label">input</span> <code>${run.input}</code></div>`}
    ${run.error && html`<div class="small error-text">${run.error}</div>`}
    ${run.steps?.length > 0 && html`<ol class="timeline nested">${run.steps.map((s) => html`<${Step} step=${s} longest=${longest} />`)}</ol>`}
  </li>`;
}

/** A step and, when it has them, the saved skills it called with their own steps, however deep. */
function Step({ step, longest }) {
  const width = longest > 0 && !step.replayed ? Math.max(2, Math.round((step.ms / longest) * 100)) : 2;
  const calls = step.calls ?? step.tools;
  const children = Array.isArray(step.children) ? step.children : [];
  return html`<li class=${`step${step.replayed ? " replayed" : ""}`} data-step=${step.index}>
    <div class="step-head">
      <span class="step-index">${step.index}</span>
      <strong class="step-label">${step.label}</strong>
      ${
        step.open
          ? html`<${Badge} kind="wait" title="began and did not complete">open<//>`
          : step.replayed
            ? html`<${Badge} kind="info" title="value replayed from the record; nothing called">replayed<//>`
            : html`<${Badge} kind="ok">live<//>`
      }
      <span class="step-ms">${step.replayed ? "—" : formatMs(step.ms)}</span>
    </div>
    <div class="bar" aria-hidden="true"><span class="fill" style=${{ width: `${width}%` }}></span></div>
    ${step.shape !== undefined && html`<div class="step-shape"><span class="label">shape</span> <code>${step.shape}</code></div>`}
    ${calls !== undefined && html`<div class="small"><span class="label">calls</span> ${Array.isArray(calls) ? calls.join(", ") || "none" : calls}</div>`}
    ${
      children.length > 0 &&
      html`<ol class="timeline nested">${children.map((c) =>
        Array.isArray(c.steps)
          ? html`<${NestedRun} run=${c} longest=${longest} />`
          : html`<${Step} step=${c} longest=${longest} />`,
      )}</ol>`
    }
  </li>`;
}

function FailedStep({ run }) {
  return html`<li class="step failed" data-step=${run.failedStep.index}>
    <div class="step-head">
      <span class="step-index">${run.failedStep.index}</span>
      <strong class="step-label">${run.failedStep.label}</strong>
      <${Badge} kind="bad">failed<//>
    </div>
  </li>`;
}

export function RunPage({ id }) {
  const { data: run, error } = useApi(`runs/${encodeURIComponent(id)}`);
  const [resume, setResume] = useState({});
  const doResume = async () => {
    setResume({ busy: true });
    try {
      const next = await api(`runs/${encodeURIComponent(id)}/resume`, { method: "POST", body: {} });
      location.hash = `#/runs/${encodeURIComponent(next.runId)}`;
    } catch (failure) {
      setResume({ error: failure });
    }
  };
  const longest = run ? Math.max(0, ...run.steps.map((s) => (s.replayed ? 0 : s.ms))) : 0;
  return html`<section aria-labelledby="run-title">
    <p><a href="#/runs">← Runs</a></p>
    <h1 id="run-title">Run <code>${id.slice(0, 8)}</code> ${run && html`<${Status} status=${run.status} />`}</h1>
    <${ErrorBox} error=${error} />
    ${
      run === undefined
        ? !error && html`<${Loading} what="the run" />`
        : html`<dl class="facts">
            <dt>What</dt><dd>${run.adHoc ? "ad-hoc code" : html`skill <a href=${`#/skills/${run.skill}`}><code>${run.skill}</code></a> v${run.version}`}</dd>
            <dt>Started</dt><dd><${Ago} at=${run.startedAt} /></dd>
            <dt>Took</dt><dd>${formatMs(run.tookMs)}</dd>
            <dt>Calls</dt><dd>${run.calls}${run.tools.length ? ` (${run.tools.join(", ")})` : ""}</dd>
            ${run.resumedFrom && html`<dt>Resumed from</dt><dd><a href=${`#/runs/${run.resumedFrom}`}><code>${run.resumedFrom.slice(0, 8)}</code></a></dd>`}
            ${run.resumedBy && html`<dt>Resumed by</dt><dd><a href=${`#/runs/${run.resumedBy}`}><code>${run.resumedBy.slice(0, 8)}</code></a></dd>`}
          </dl>
          ${
            run.error &&
            html`<div class="error" role="alert">
              <strong>Failed${run.failedStep ? ` in step ${run.failedStep.index} “${run.failedStep.label}”` : ""}${run.limit ? ` (limit: ${run.limit})` : ""}:</strong>
              <pre class="error-message">${run.error}</pre>
            </div>`
          }
          ${
            run.resumable &&
            html`<div class="row">
              <button type="button" class="primary" onClick=${doResume} disabled=${resume.busy}>${resume.busy ? "Resuming…" : "Resume run"}</button>
              <span class="small muted">Runs the same code again; completed steps are replayed from the record, not called again.</span>
            </div>`
          }
          <${ErrorBox} error=${resume.error} />
          ${run.warnings.map((w) => html`<div class="warning">${w}</div>`)}
          <h2>Timeline</h2>
          ${
            run.steps.length === 0 && !run.failedStep
              ? html`<p class="muted">No steps were recorded.</p>`
              : html`<ol class="timeline">
                  ${run.steps.map((s) => html`<${Step} step=${s} longest=${longest} />`)}
                  ${run.failedStep && !run.steps.some((s) => s.index === run.failedStep.index) && html`<${FailedStep} run=${run} />`}
                </ol>`
          }
          ${run.result !== undefined && html`<h2>Result${run.resultTrimmed ? " (trimmed)" : ""}</h2><${Json} value=${run.result} label="result" />`}
          <h2>Input</h2><${Json} value=${run.input} label="input" />
          ${run.logs.length > 0 && html`<h2>Logs</h2><pre class="logs" tabindex="0">${run.logs.join("\n")}</pre>`}
          ${run.codeHtml && html`<h2>Code</h2><${Code} htmlText=${run.codeHtml} label="run code" />`}`
    }
  </section>`;
}
