import { hasPositiveContext } from "../../context.js";
import { type SecretRule } from "../SecretRule.js";
import { sampleToken } from "./sampleToken.js";

const storageKey = `${sampleToken(200, "base64", 86)}==`;
const serviceBusKey = `${sampleToken(201, "base64", 43)}=`;
const cognitiveKey = sampleToken(202, "hex", 32);
const entraSecret = `${sampleToken(203, "alnum", 3)}8Q~${sampleToken(204, "url", 34).replace(/-/g, ".")}`;
const sasSignature = `${sampleToken(205, "base64", 43)}%3D`;

export const azureRules: readonly SecretRule[] = [
  {
    id: "azure-storage-account-key",
    description: "Azure Storage / Cosmos DB account key in a connection string (AccountKey=...)",
    keywords: ["AccountKey="],
    pattern: /AccountKey=([A-Za-z0-9+/]{86}==)/y,
    secretGroups: [1],
    samples: {
      found: [{ text: `DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey=${storageKey};EndpointSuffix=core.windows.net`, secret: storageKey }],
      ignored: ["AccountKey=<storage-account-key>", "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="],
    },
    allowlist: [/^Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq\/K1SZFPTOtr\/KBHBeksoGMGw==$/],
  },
  {
    id: "azure-storage-key-in-context",
    description: "A bare 88-character base64 key ending '==' (an Azure storage key) with a key/storage word before it",
    keywords: ["=="],
    keywordOffset: 86,
    pattern: /(?<![A-Za-z0-9+/=-])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/y,
    validate: (_secret, text, start) => !/accountkey=$/i.test(text.slice(Math.max(0, start - 11), start)) && hasPositiveContext("API_KEY", text, start),
    score: 0.65,
    samples: {
      found: [{ text: `storage key: ${storageKey}`, secret: storageKey }],
      ignored: [`sha512 digest ${storageKey}`],
    },
  },
  {
    id: "azure-service-bus-shared-access-key",
    description: "Service Bus / Event Hubs / Relay shared access key in a connection string",
    keywords: ["SharedAccessKey="],
    pattern: /SharedAccessKey=([A-Za-z0-9+/]{42,44}=?)(?![A-Za-z0-9+/=])/y,
    secretGroups: [1],
    samples: {
      found: [
        {
          text: `Endpoint=sb://contoso-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${serviceBusKey}`,
          secret: serviceBusKey,
        },
      ],
      ignored: ["SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<key>"],
    },
  },
  {
    id: "azure-sas-signature",
    description: "Azure SAS token signature (sig=) in a URL or connection string",
    keywords: ["sig="],
    pattern: /(?<=[?&;])sig=([A-Za-z0-9%+/=]{16,})/y,
    secretGroups: [1],
    score: 0.9,
    samples: {
      found: [{ text: `https://contosodata.blob.core.windows.net/c/report.pdf?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31T00:00:00Z&sig=${sasSignature}`, secret: sasSignature }],
      ignored: ["?sv=2022-11-02&sig=<signature>", "the sig= parameter carries the signature"],
    },
  },
  {
    id: "azure-ad-client-secret",
    description: "Microsoft Entra ID (Azure AD) application client secret",
    keywords: ["Q~"],
    keywordOffset: 4,
    pattern: /(?<=^|[\\'"`\s>=:(,)])[a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34}(?=$|[\\'"`\s<),;])/y,
    minEntropy: 3,
    samples: {
      found: [
        { text: `AZURE_CLIENT_SECRET=${entraSecret}`, secret: entraSecret },
        { text: `client secret is "${entraSecret}" until March`, secret: entraSecret },
      ],
      ignored: ["abc8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
  },
  {
    id: "azure-key-credential",
    description: "Azure OpenAI / AI services key passed to AzureKeyCredential(...)",
    keywords: ["KeyCredential("],
    keywordOffset: 5,
    pattern: /AzureKeyCredential\(\s*["']([A-Za-z0-9]{32,88})["']\s*\)/y,
    secretGroups: [1],
    samples: {
      found: [{ text: `client = TextAnalyticsClient(endpoint, AzureKeyCredential("${cognitiveKey}"))`, secret: cognitiveKey }],
      ignored: ['AzureKeyCredential("<your-key>")', 'AzureKeyCredential(os.environ["AZURE_KEY"])'],
    },
  },
  {
    id: "azure-api-key-header",
    description: "Azure OpenAI / APIM key in an api-key or Ocp-Apim-Subscription-Key header (32 hex, or the 84-character form)",
    keywords: ["api-key", "Api-Key", "API-KEY", "Subscription-Key"],
    pattern: /(?:api-key|Api-Key|API-KEY|Subscription-Key)["']?\s*[:=]\s*["']?([a-fA-F0-9]{32}|[A-Za-z0-9]{84})(?![A-Za-z0-9])/y,
    secretGroups: [1],
    minEntropy: 3,
    samples: {
      found: [{ text: `curl https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions -H "api-key: ${cognitiveKey}"`, secret: cognitiveKey }],
      ignored: ['-H "api-key: $AZURE_OPENAI_API_KEY"', "api-key: 00000000000000000000000000000000"],
    },
  },
];
