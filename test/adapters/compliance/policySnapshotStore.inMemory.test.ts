import { describePolicySnapshotStoreContract } from "../../contracts/policySnapshotStore.contract.js";
import { InMemoryPolicySnapshotStore } from "../../fakes/InMemoryPolicySnapshotStore.js";

describePolicySnapshotStoreContract("InMemoryPolicySnapshotStore", async () => ({ newStore: async () => new InMemoryPolicySnapshotStore() }));
