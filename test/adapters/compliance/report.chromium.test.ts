import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChainIntegrity } from "../../../src/core/compliance/ComplianceSummary.js";
import { renderComplianceReport } from "../../../src/core/compliance/renderComplianceReport.js";
import { summarizeDay } from "../../../src/core/compliance/summarizeDay.js";
import { parseUtcDay } from "../../../src/core/compliance/utcDay.js";
import { ensureChromium, runHeadlessChromium } from "../../support/chromium.js";
import { generateDay } from "../../core/compliance/dayFixture.js";

const chromium = ensureChromium();
const integrity: ChainIntegrity = {
  intact: true,
  entriesChecked: 402,
  checkpointsChecked: 2,
  problem: null,
  firstBadSequence: null,
  message: "Chain acme is intact.",
  checkpoint: { size: 402, rootHash: "d".repeat(64), timestamp: "2026-03-11T02:00:00.000Z", keyId: "memory://k/1" },
  checkpointError: null,
};

const day = generateDay({ count: 400, seed: 3 });
const utc = parseUtcDay(day.date)!;
const summary = summarizeDay({ chainId: day.chainId, day: utc, events: day.events, trailingDays: [], integrity, generatedAtInMs: utc.endInMs + 3_600_000 });
const html = renderComplianceReport(summary);
const format = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

describe.runIf(chromium.available)("report.html in headless Chromium", () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "palisade-report-"));
    file = join(dir, "report.html");
    await writeFile(file, html, "utf8");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("renders: the DOM holds the summary's totals and the SVG charts", async () => {
    if (!chromium.available) return;
    const run = await runHeadlessChromium(chromium.path, ["--dump-dom", pathToFileURL(file).href]);
    expect(run.exitCode, run.stderr.slice(-500)).toBe(0);
    const dom = run.stdout;
    expect(dom).toContain(`<b id="requests-total">${format(summary.requests.total)}</b>`);
    expect(dom).toContain(`<b id="requests-blocked">${format(summary.requests.byStatus.blocked)}</b>`);
    expect(dom).toContain(`<b id="tokens-total">${format(summary.tokens.total)}</b>`);
    expect(dom).toContain(`<b id="events-total">${format(summary.events.total)}</b>`);
    expect(dom).toContain(`<span id="integrity" class="badge ok">intact</span>`);
    expect(dom.match(/<svg /g)?.length).toBe(4);
    expect(dom.match(/<rect /g)?.length ?? 0).toBeGreaterThan(10);
    for (const control of ["CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC8.1", "CC9.1"]) expect(dom).toContain(`<b>${control}</b>`);
    // The page parsed as HTML: Chromium re-serialised the tree (the source has no <tbody> close-tag quirks to hide).
    expect(dom).toMatch(/^<!DOCTYPE html>\s*<html lang="en">/);
    expect(run.stderr).not.toMatch(/Uncaught|SyntaxError|Refused to load/);
  }, 90_000);

  it("paints a non-trivial screenshot", async () => {
    if (!chromium.available) return;
    const png = join(dir, "report.png");
    const run = await runHeadlessChromium(chromium.path, [`--screenshot=${png}`, "--window-size=1200,1600", pathToFileURL(file).href]);
    expect(run.exitCode, run.stderr.slice(-500)).toBe(0);
    const bytes = await readFile(png);
    expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect((await stat(png)).size).toBeGreaterThan(20_000);
  }, 90_000);
});

describe.skipIf(chromium.available)(`report.html in headless Chromium: SKIPPED (${chromium.available ? "" : chromium.reason})`, () => {
  it("cannot run without Chromium", () => {
    expect(chromium.available).toBe(false);
  });
});

describe("report.html is self-contained and escaped", () => {
  it("has no script, no external resource, and escapes hostile values", () => {
    const hostile = summarizeDay({
      chainId: "acme",
      day: utc,
      events: day.inside.slice(0, 50).map((e, i) =>
        i === 0 ? { ...e, type: "api_call", model: `<script>alert("x")</script>`, reason: `"><img src=x onerror=alert(1)>` } : e,
      ),
      trailingDays: [],
      integrity,
      generatedAtInMs: utc.endInMs,
    });
    const page = renderComplianceReport(hostile);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<img/i);
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(page).not.toMatch(/\s(src|href)=/i);
    // The only URL is the SVG namespace, which is a name, not a fetched resource.
    expect(page.match(/https?:\/\/[^"\s<]+/g)?.every((url) => url === "http://www.w3.org/2000/svg")).toBe(true);
    expect(page).toContain("default-src 'none'");
  });
});
