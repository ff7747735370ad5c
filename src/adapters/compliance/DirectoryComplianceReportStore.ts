import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type ComplianceArtifact,
  type ComplianceReportStore,
  assertReportPathSegment,
} from "../../core/compliance/ComplianceReportStore.js";

/** Writes `<dir>/<chain>/<date>/<name>` (the CLI's `--out DIR`). */
export class DirectoryComplianceReportStore implements ComplianceReportStore {
  private readonly root: string;

  constructor(directory: string) {
    this.root = resolve(directory);
  }

  async put(chainId: string, date: string, artifact: ComplianceArtifact): Promise<string> {
    assertReportPathSegment(chainId);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new RangeError("report dates are YYYY-MM-DD");
    const directory = join(this.root, chainId, date);
    await mkdir(directory, { recursive: true });
    const path = join(directory, artifact.name);
    await writeFile(path, artifact.content, "utf8");
    return path;
  }
}
