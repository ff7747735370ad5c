import { describeSubjectKeyStoreContract } from "../../contracts/subjectKeyStore.contract.js";
import { InMemorySubjectKeyStore } from "../../fakes/InMemorySubjectKeyStore.js";

describeSubjectKeyStoreContract("InMemorySubjectKeyStore", async () => ({ store: new InMemorySubjectKeyStore() }));
