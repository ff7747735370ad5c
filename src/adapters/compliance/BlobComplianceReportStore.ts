import { type ContainerClient } from "@azure/storage-blob";
import {
  type ComplianceArtifact,
  type ComplianceReportStore,
  type ComplianceReportStoreOptions,
  assertReportPathSegment,
} from "../../core/compliance/ComplianceReportStore.js";
import { once } from "../azure/azureErrors.js";

export interface BlobComplianceReportStoreOptions {
  /** Create the container on first use (default true; in Azure infra creates it). */
  readonly createContainerIfMissing?: boolean;
}

/** Summaries and reports as blobs `<chain>/<date>/summary.json` and `report.html` (container PALISADE_COMPLIANCE_CONTAINER). */
export class BlobComplianceReportStore implements ComplianceReportStore {
  /** Creates the container on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createContainerIfMissing === false ? Promise.resolve() : this.container.createIfNotExists()));

  constructor(
    private readonly container: ContainerClient,
    private readonly options: BlobComplianceReportStoreOptions = {},
  ) {}

  static blobName(chainId: string, date: string, name: string): string {
    assertReportPathSegment(chainId);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new RangeError("report dates are YYYY-MM-DD");
    return `${chainId}/${date}/${name}`;
  }

  async put(chainId: string, date: string, artifact: ComplianceArtifact, options: ComplianceReportStoreOptions = {}): Promise<string> {
    const name = BlobComplianceReportStore.blobName(chainId, date, artifact.name);
    await this.ready();
    const blob = this.container.getBlockBlobClient(name);
    const body = Buffer.from(artifact.content, "utf8");
    await blob.upload(body, body.length, { blobHTTPHeaders: { blobContentType: artifact.contentType }, abortSignal: options.abortSignal });
    return blob.url;
  }

}
