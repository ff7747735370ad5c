/** One file of a chain's daily compliance evidence. */
export interface ComplianceArtifact {
  readonly name: "summary.json" | "report.html";
  readonly content: string;
  readonly contentType: string;
}

export interface ComplianceReportStoreOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * Where summaries and reports go: `<chain>/<date>/<name>`. Blob storage in Azure
 * (`BlobComplianceReportStore`), a directory for `palisade compliance run --out DIR`. Writing the
 * same day again replaces the files: a rerun regenerates the day's evidence from the chain.
 */
export interface ComplianceReportStore {
  /** Returns where the artifact was written (a blob URL or a file path), for the operator. */
  put(chainId: string, date: string, artifact: ComplianceArtifact, options?: ComplianceReportStoreOptions): Promise<string>;
}

/** Chain ids are project ids (`[A-Za-z0-9_.-]`); `.` and `..` would escape a directory layout. */
export function assertReportPathSegment(value: string): void {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(value) || value === "." || value === "..") throw new RangeError("chain ids in report paths are letters, digits, _ . - (not . or ..)");
}
