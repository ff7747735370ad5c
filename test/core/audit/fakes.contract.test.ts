import { describeAuditLedgerContract } from "../../contracts/auditLedger.contract.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";

describeAuditLedgerContract("InMemoryAuditLedger", async () => ({ ledger: new InMemoryAuditLedger() }));
import { describeCheckpointAnchorContract } from "../../contracts/checkpointAnchor.contract.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";

describeCheckpointAnchorContract("InMemoryCheckpointAnchor", async () => ({ anchor: new InMemoryCheckpointAnchor() }));
import { describeAuditOutboxContract } from "../../contracts/auditOutbox.contract.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";

describeAuditOutboxContract("InMemoryAuditOutbox", async () => ({ outbox: new InMemoryAuditOutbox() }));
import { describeCheckpointSignerContract } from "../../contracts/checkpointSigner.contract.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

describeCheckpointSignerContract("InMemoryCheckpointSigner", async () => {
  const signer = new InMemoryCheckpointSigner();
  return { signer, verifier: signer.verifier() };
});
import { describeAuditPublisherContract } from "../../contracts/auditPublisher.contract.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";

describeAuditPublisherContract("InMemoryAuditPublisher", async () => {
  const publisher = new InMemoryAuditPublisher();
  return { publisher, received: async () => publisher.published.map((event) => ({ event, chainId: event.project })) };
});
import { describeAuditDeadLettersContract } from "../../contracts/auditDeadLetters.contract.js";
import { InMemoryAuditDeadLetters } from "../../fakes/InMemoryAuditDeadLetters.js";

describeAuditDeadLettersContract("InMemoryAuditDeadLetters", async () => ({ deadLetters: new InMemoryAuditDeadLetters() }));
import { describeCheckpointKeyPinsContract } from "../../contracts/checkpointKeyPins.contract.js";
import { InMemoryCheckpointKeyPins } from "../../fakes/InMemoryCheckpointKeyPins.js";

describeCheckpointKeyPinsContract("InMemoryCheckpointKeyPins", async () => {
  const pins = new InMemoryCheckpointKeyPins();
  return {
    pins,
    corrupt: async (index, text) => {
      pins.stored.set(index, text);
    },
  };
});
import { describeCheckpointKeyVersionsContract } from "../../contracts/checkpointKeyVersions.contract.js";

describeCheckpointKeyVersionsContract("InMemoryCheckpointSigner", async () => ({
  keys: new InMemoryCheckpointSigner(),
  foreignKeyId: new InMemoryCheckpointSigner("memory://another-key/1").keyId,
}));
