import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { describeApiKeyStoreContract } from "../../contracts/apiKeyStore.contract.js";

describeApiKeyStoreContract("InMemoryApiKeyStore", async () => new InMemoryApiKeyStore());
