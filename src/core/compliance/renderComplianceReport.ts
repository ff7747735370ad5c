import { type ComplianceSummary, type Counts, type UsageTotals } from "./ComplianceSummary.js";

/** Escapes text for HTML element content and quoted attribute values (also inside inline SVG). */
export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

const e = escapeHtml;
const usd = (value: number): string => `$${value.toFixed(value !== 0 && Math.abs(value) < 0.01 ? 6 : 2)}`;
const int = (value: number): string => String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

const PALETTE = ["#2f6db5", "#3c9d5d", "#c9822b", "#b03a48", "#6a4fb3", "#2a9d9d", "#8a8a2a", "#7a5230"];

/** A horizontal bar chart as inline SVG: no script, no external resource. */
export function barChart(title: string, rows: readonly (readonly [string, number])[], format: (value: number) => string = int): string {
  const data = rows.filter(([, value]) => value > 0).slice(0, 12);
  if (data.length === 0) return `<figure class="chart"><figcaption>${e(title)}</figcaption><p class="empty">No data for this day.</p></figure>`;
  const max = Math.max(...data.map(([, value]) => value));
  const labelWidth = 190;
  const barWidth = 300;
  const rowHeight = 22;
  const height = data.length * rowHeight + 8;
  const bars = data
    .map(([label, value], i) => {
      const y = 4 + i * rowHeight;
      const width = Math.max(1, Math.round((value / max) * barWidth));
      const shown = label.length > 28 ? `${label.slice(0, 27)}…` : label;
      return (
        `<g class="bar"><title>${e(label)}: ${e(format(value))}</title>` +
        `<text x="${labelWidth - 6}" y="${y + 15}" text-anchor="end">${e(shown)}</text>` +
        `<rect x="${labelWidth}" y="${y + 2}" width="${width}" height="${rowHeight - 6}" fill="${PALETTE[i % PALETTE.length] ?? "#2f6db5"}"></rect>` +
        `<text x="${labelWidth + width + 6}" y="${y + 15}">${e(format(value))}</text></g>`
      );
    })
    .join("");
  return (
    `<figure class="chart"><figcaption>${e(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${e(title)}" width="${labelWidth + barWidth + 90}" height="${height}" viewBox="0 0 ${labelWidth + barWidth + 90} ${height}">${bars}</svg></figure>`
  );
}

function countsTable(caption: string, counts: Readonly<Counts>, keyHeader = "kind"): string {
  const rows = Object.entries(counts);
  if (rows.length === 0) return `<h3>${e(caption)}</h3><p class="empty">None.</p>`;
  return `<h3>${e(caption)}</h3><table><thead><tr><th>${e(keyHeader)}</th><th class="n">count</th></tr></thead><tbody>${rows
    .map(([key, count]) => `<tr><td>${e(key)}</td><td class="n">${e(int(count))}</td></tr>`)
    .join("")}</tbody></table>`;
}

function usageTable(caption: string, groups: Readonly<Record<string, UsageTotals>>, keyHeader: string): string {
  const rows = Object.entries(groups);
  if (rows.length === 0) return `<h3>${e(caption)}</h3><p class="empty">None.</p>`;
  return `<h3>${e(caption)}</h3><table><thead><tr><th>${e(keyHeader)}</th><th class="n">requests</th><th class="n">input tokens</th><th class="n">output tokens</th><th class="n">cost</th></tr></thead><tbody>${rows
    .map(
      ([key, u]) =>
        `<tr><td>${e(key)}</td><td class="n">${e(int(u.requests))}</td><td class="n">${e(int(u.inputTokens))}</td><td class="n">${e(int(u.outputTokens))}</td><td class="n">${e(usd(u.costUsd))}</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f5f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}h3{font-size:14px;margin:16px 0 6px}
.meta{color:#5a6272}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;font-size:12px}
.ok{background:#dff3e4;color:#1d6b34}.attention{background:#fbe3e4;color:#8e1f2b}
.figures{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.figure{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:10px 14px;min-width:140px}
.figure b{display:block;font-size:20px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure.chart{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:0;padding:10px}
figcaption{font-weight:600;margin-bottom:6px}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}
table{border-collapse:collapse;background:#fff;margin-bottom:8px;min-width:320px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:#5a6272;font-style:italic}
code{font-size:12px;word-break:break-all}
`;

/** Which checkpoint keys the verification trusted (empty for summaries written before trust was recorded). */
function trustParagraph(trust: ComplianceSummary["integrity"]["trust"]): string {
  if (trust === undefined) return "";
  if (trust.mode === "key_vault") return `<p>Checkpoint keys: <span id="trust" class="badge attention">ANY VAULT VERSION</span> no pinned key versions were available; any version of the checkpoint key in the app's Key Vault was accepted.</p>`;
  if (trust.mode === "auditor_keys") return `<p>Checkpoint keys: <span id="trust" class="badge ok">auditor's keys</span> ${e(int(trust.keyIds.length))} key version(s) from ${e(trust.source)}.</p>`;
  const keys = trust.keys.map((k) => `<li><code>${e(k.keyId)}</code> thumbprint <code>${e(k.thumbprint)}</code>, pinned ${e(k.pinnedAt)}</li>`).join("");
  return `<p>Checkpoint keys: <span id="trust" class="badge ok">pinned</span> trust root <code id="trust-root">${e(trust.root ?? "none yet")}</code>.</p><ul>${keys}</ul>`;
}

/**
 * The day's report as one self-contained HTML page: inline CSS and inline SVG charts, no script and
 * no external resource (a Content-Security-Policy says so too). Every value is escaped.
 */
export function renderComplianceReport(summary: ComplianceSummary): string {
  const s = summary;
  const integrityOk = s.integrity.intact;
  const checkpoint = s.integrity.checkpoint;
  const soc2Rows = s.soc2
    .map(
      (control) =>
        `<tr><td><b>${e(control.control)}</b></td><td>${e(control.title)}</td><td><span class="badge ${control.status === "ok" ? "ok" : "attention"}">${e(control.status)}</span></td><td><ul>${control.evidence
          .map((item) => `<li>${e(item.description)}: <b>${e(int(item.count))}</b> <code>${e(item.id)}</code></li>`)
          .join("")}</ul></td></tr>`,
    )
    .join("");
  const anomalies =
    s.anomalies.length === 0
      ? `<p class="empty">No actor departed sharply from its trailing 7 days.</p>`
      : `<table><thead><tr><th>actor</th><th>metric</th><th>direction</th><th class="n">count</th><th class="n">baseline mean</th><th class="n">z</th></tr></thead><tbody>${s.anomalies
          .map(
            (a) =>
              `<tr><td>${e(a.actor)}${a.newActor ? " (new)" : ""}</td><td>${e(a.metric)}</td><td>${e(a.direction)}</td><td class="n">${e(a.count)}</td><td class="n">${e(a.baselineMean)}</td><td class="n">${e(a.zScore)}</td></tr>`,
          )
          .join("")}</tbody></table>`;
  const inventoryRows = Object.entries(s.modelInventory).flatMap(([project, models]) =>
    models.map(
      (m) =>
        `<tr><td>${e(project)}</td><td>${e(m.model)}</td><td>${e(m.deployments.join(", "))}</td><td>${e(m.endpoints.join(", "))}</td><td>${e(m.regions.join(", "))}</td><td class="n">${e(int(m.calls))}</td></tr>`,
    ),
  );
  const inventory =
    inventoryRows.length === 0
      ? `<p class="empty">No model calls this day.</p>`
      : `<table><thead><tr><th>project</th><th>model</th><th>deployments</th><th>endpoints</th><th>regions</th><th class="n">calls</th></tr></thead><tbody>${inventoryRows.join("")}</tbody></table>`;
  const eventsByType = Object.entries(s.events.byType).filter(([, n]) => n > 0);

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Palisade compliance report: ${e(s.chainId)} ${e(s.period.date)}</title>
<style>${CSS}</style>
</head>
<body><main>
<h1>Compliance report: chain <code id="chain-id">${e(s.chainId)}</code>, ${e(s.period.date)} (UTC)</h1>
<p class="meta">Period ${e(s.period.since)} to ${e(s.period.until)}. Generated ${e(s.generatedAt)}. Schema ${e(s.schema)}.</p>
<p>Chain integrity: <span id="integrity" class="badge ${integrityOk ? "ok" : "attention"}">${integrityOk ? "intact" : "NOT INTACT"}</span>
${e(s.integrity.message)} ${e(int(s.integrity.entriesChecked))} entries and ${e(int(s.integrity.checkpointsChecked))} checkpoints verified.
${checkpoint === null ? `No checkpoint signed (${e(s.integrity.checkpointError ?? "unknown")}).` : `Checkpoint at size ${e(checkpoint.size)}, root <code>${e(checkpoint.rootHash)}</code>, signed by <code>${e(checkpoint.keyId)}</code> at ${e(checkpoint.timestamp)}.`}</p>
${trustParagraph(s.integrity.trust)}
${s.integrity.pending === undefined ? "" : `<p>Chain completeness: <span id="completeness" class="badge ${s.integrity.pending.complete ? "ok" : "attention"}">${s.integrity.pending.complete ? "complete" : "NOT COMPLETE"}</span> ${e(int(s.integrity.pending.outbox))} event(s) in the outbox, ${s.integrity.pending.deadLetterQueue === null ? "an unreadable count" : e(int(s.integrity.pending.deadLetterQueue))} in the broker's dead-letter queue, ${e(int(s.integrity.pending.deadLetterStore))} in the dead-letter store.</p>`}

<section class="figures">
<div class="figure">requests<b id="requests-total">${e(int(s.requests.total))}</b></div>
<div class="figure">succeeded<b id="requests-success">${e(int(s.requests.byStatus.success))}</b></div>
<div class="figure">blocked<b id="requests-blocked">${e(int(s.requests.byStatus.blocked))}</b></div>
<div class="figure">errors<b id="requests-error">${e(int(s.requests.byStatus.error))}</b></div>
<div class="figure">tokens<b id="tokens-total">${e(int(s.tokens.total))}</b></div>
<div class="figure">cost<b id="cost-total">${e(usd(s.cost.totalUsd))}</b></div>
<div class="figure">events<b id="events-total">${e(int(s.events.total))}</b></div>
<div class="figure">anomalies<b id="anomalies-total">${e(int(s.anomalies.length))}</b></div>
</section>

<h2>Charts</h2>
<div class="charts">
${barChart("Requests by outcome", [["success", s.requests.byStatus.success], ["blocked", s.requests.byStatus.blocked], ["error", s.requests.byStatus.error]])}
${barChart("Events by type", eventsByType)}
${barChart("Cost by model (USD)", Object.entries(s.cost.byModel).map(([k, u]) => [k, u.costUsd] as const), usd)}
${barChart("DLP findings by entity type", Object.entries(s.dlp.findingsByEntityType))}
</div>

<h2>SOC 2 evidence</h2>
<table><thead><tr><th>control</th><th>criterion</th><th>status</th><th>evidence (counts for this day)</th></tr></thead><tbody>${soc2Rows}</tbody></table>

<h2>Anomalies</h2>
${anomalies}

<h2>Usage and cost</h2>
<p>Input tokens ${e(int(s.tokens.input))} (cached ${e(int(s.tokens.cachedInput))}), output tokens ${e(int(s.tokens.output))}. Cache hits ${e(int(s.requests.cacheHits))}. Distinct actors ${e(int(s.requests.distinctActors))}.</p>
${usageTable("By project", s.cost.byProject, "project")}
${usageTable("By model", s.cost.byModel, "model")}
${usageTable("By deployment", s.cost.byDeployment, "deployment")}
${usageTable("By operation", s.cost.byOperation, "operation")}
${usageTable("By project tag (policy in force at report time)", s.cost.byTag, "tag")}
${countsTable("Requests by HTTP status", s.requests.byHttpStatus, "status")}

<h2>Model inventory</h2>
${inventory}

<h2>Refusals and policy violations</h2>
${countsTable("Refusals by type", s.refusals.byType, "type")}
${countsTable("Refusals by reason", s.refusals.byReason, "reason")}
${countsTable("Policy violations by reason", s.policyViolations.byReason, "reason")}
${countsTable("Authentication failures by reason", s.authFailures.byReason, "reason")}
<p>Rate limited ${e(int(s.limits.rateLimited))}; budget exceeded ${e(int(s.limits.budgetExceeded))}; budget warnings ${e(int(s.limits.budgetWarnings))}; served with limits unchecked (store unreachable, failing open) ${e(int(s.limits.unenforced))}.</p>

<h2>Sensitive data (DLP)</h2>
<p>Events with findings ${e(int(s.dlp.eventsWithFindings))}; requests blocked for sensitive data ${e(int(s.dlp.blocked))}.</p>
${countsTable("Findings by entity type", s.dlp.findingsByEntityType, "entity type")}
${countsTable("Actions taken", s.dlp.byAction, "action")}
<h2>Content safety</h2>
<p>Prompt attacks refused ${e(int(s.contentSafety.promptAttacksBlocked))}; harmful content refused ${e(int(s.contentSafety.contentFiltered))}; flagged and passed ${e(int(s.contentSafety.flagged))}; refused while the service was down ${e(int(s.contentSafety.unavailable))}; passed unscreened (fail open) ${e(int(s.contentSafety.failedOpen))}.</p>
${countsTable("Refusals by source", s.contentSafety.bySource, "source")}
${countsTable("Findings by category", s.contentSafety.byCategory, "category")}

<h2>Resilience and residency</h2>
<p>Failovers ${e(int(s.resilience.failovers))}; residency blocks ${e(int(s.resilience.residencyBlocks))}; upstream errors ${e(int(s.resilience.upstreamErrors))}.</p>
${countsTable("Failovers by reason", s.resilience.failoversByReason, "reason")}
${countsTable("Failover routes", s.resilience.failoverRoutes, "from -> to")}

<h2>Credentials</h2>
<p>Expiring ${e(int(s.keys.expiring))}; created ${e(int(s.keys.created))}; rotated ${e(int(s.keys.rotated))}; revoked ${e(int(s.keys.revoked))}; rotations failed ${e(int(s.keys.rotationFailed))}.</p>
${countsTable("Expiry warnings by severity", s.keys.expiringBySeverity, "severity")}
${s.keys.credentials.length === 0 ? "" : `<p>Credentials named: ${s.keys.credentials.map((c) => `<code>${e(c)}</code>`).join(", ")}</p>`}

<h2>Policy and privacy</h2>
${countsTable("Policy versions in force", s.policy.versions, "policy version (SHA-256)")}
<p>Policy changes recorded ${e(int(s.policy.policyChanged))}; model changes recorded ${e(int(s.policy.modelChanged))}.</p>
<p>Distinct end-user subjects (pseudonymised) ${e(int(s.privacy.subjectsSeen))}; subject exports ${e(int(s.privacy.dsrExported))}; subject erasures ${e(int(s.privacy.dsrErased))}.</p>
</main></body>
</html>
`;
}
