import { type ComplianceArtifact, type ComplianceReportStore } from "../../../src/core/compliance/ComplianceReportStore.js";
import { type ComplianceSummary } from "../../../src/core/compliance/ComplianceSummary.js";

/** Keeps what the nightly job writes, by `<chain>/<date>/<name>`. */
export class RecordingReportStore implements ComplianceReportStore {
  readonly files = new Map<string, ComplianceArtifact>();
  async put(chainId: string, date: string, artifact: ComplianceArtifact): Promise<string> {
    const path = `${chainId}/${date}/${artifact.name}`;
    this.files.set(path, artifact);
    return `memory://${path}`;
  }
  summary(chainId: string, date: string): ComplianceSummary {
    const file = this.files.get(`${chainId}/${date}/summary.json`);
    if (file === undefined) throw new Error(`no summary for ${chainId} ${date}`);
    return JSON.parse(file.content) as ComplianceSummary;
  }
}
