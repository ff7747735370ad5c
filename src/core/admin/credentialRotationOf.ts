import { type CredentialRotator } from "../rotation/CredentialRotator.js";
import { loadCredentialVersions } from "../rotation/listManagedCredentials.js";
import { credentialOf } from "../rotation/managedCredential.js";
import { type SecretStore } from "../secrets/SecretStore.js";
import { type CredentialRotation } from "./CredentialRotation.js";

/** Key Vault secret names: the only credential ids worth a look-up. */
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

/** The admin API's view of rotation: the rotator does the work, the credential's tags say whose it is. */
export function credentialRotationOf(rotator: Pick<CredentialRotator, "rotate">, secrets: SecretStore): CredentialRotation {
  return {
    async describe(credentialId, options = {}) {
      if (!SECRET_NAME.test(credentialId)) return null;
      const credential = credentialOf(credentialId, await loadCredentialVersions(secrets, credentialId, options));
      return credential === null ? null : { id: credential.id, project: credential.project, environment: credential.environment, issuer: credential.issuer };
    },
    rotate: (credentialId, options) => rotator.rotate(credentialId, options),
  };
}
