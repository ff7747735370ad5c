import { SecretClient } from "@azure/keyvault-secrets";
import { LocalDevelopmentCredential } from "../src/adapters/identity/LocalDevelopmentCredential.js";
import { keyVaultClientOptions } from "../src/adapters/keyvault/keyVaultClientOptions.js";
import { startMockArm } from "./mockArm/index.js";
import { startMockOpenAiAdmin } from "./mockOpenAiAdmin/index.js";
import { type RunningKeyVaultEmulator } from "./keyvault/index.js";

/** The Key Vault secret the `openai` issuer reads its admin key from (PALISADE_OPENAI_ADMIN_KEY_SECRET's default). */
const OPENAI_ADMIN_KEY_SECRET = "openai-admin-key";

export interface IssuerStandInsOptions {
  /** Ports of the mock ARM and OpenAI admin APIs (`npm start`: 7106 and 7107; 0 picks free ones). */
  readonly armPort?: number;
  readonly openAiAdminPort?: number;
}

export interface RunningIssuerStandIns {
  /**
   * What the app and the CLI need to rotate against them: PALISADE_ARM_BASE_URL,
   * PALISADE_OPENAI_ADMIN_BASE_URL, and the ids to register (PALISADE_LOCAL_AOAI_ACCOUNT, an ARM
   * resource id with a `gpt-4o-mini` deployment; PALISADE_LOCAL_OPENAI_PROJECT, an OpenAI project id).
   */
  readonly environment: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * The credential issuers' far ends, for trying rotation locally: a mock Azure Resource Manager with
 * one Azure OpenAI account (listKeys, regenerateKey, and a data plane that accepts only its current
 * keys) and a mock OpenAI admin API with one project, whose admin key is put in the stack's Key Vault.
 */
export async function startIssuerStandIns(stack: { readonly keyVault: Pick<RunningKeyVaultEmulator, "vaultUrl" | "caCertPem"> }, options: IssuerStandInsOptions = {}): Promise<RunningIssuerStandIns> {
  const arm = await startMockArm({ port: options.armPort ?? 0 });
  const admin = await startMockOpenAiAdmin({ port: options.openAiAdminPort ?? 0 }).catch(async (error: unknown) => {
    await arm.stop();
    throw error;
  });
  const account = arm.addAccount({ subscription: "00000000-0000-0000-0000-000000000000", resourceGroup: "rg-palisade-local", name: "aoai-local", deployments: ["gpt-4o-mini"] });
  const project = admin.addProject("palisade-local");
  const secrets = new SecretClient(stack.keyVault.vaultUrl, new LocalDevelopmentCredential(), keyVaultClientOptions({ caCertPem: stack.keyVault.caCertPem }));
  await secrets.setSecret(OPENAI_ADMIN_KEY_SECRET, admin.adminKey, { tags: { purpose: "openai-admin" } });
  return {
    environment: {
      PALISADE_ARM_BASE_URL: arm.url,
      PALISADE_OPENAI_ADMIN_BASE_URL: admin.url,
      PALISADE_LOCAL_AOAI_ACCOUNT: account.resourceId,
      PALISADE_LOCAL_OPENAI_PROJECT: project,
    },
    async stop() {
      await Promise.allSettled([arm.stop(), admin.stop()]);
    },
  };
}
